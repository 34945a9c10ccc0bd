#!/usr/bin/env python3
"""Python's smtplib as a baseline SMTP client: how fast can one connection deliver?

Usage: smtplib_bench.py HOST PORT DIR
       smtplib_bench.py --generate N DIR   (writes N small test messages DIR/NNNNNN.eml)

Sends every *.eml file in DIR (sorted by name) over ONE plain SMTP connection: the envelope
sender is the From header's address, the recipients are the To and Cc headers' addresses; each
message is sent as the file's bytes (sendmail), then QUIT. Prints one line of JSON:
{"messages": N, "seconds": S, "per_second": R, "cpu_us_per_message": C}. Time counts from before connecting to after QUIT;
reading the files is not counted. Exits non-zero if any recipient or message is refused.
"""
import email.parser
import email.policy
import email.utils
import json
import os
import smtplib
import sys
import time


def envelope(raw):
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    sender = email.utils.getaddresses(headers.get_all("From", []))
    rcpts = email.utils.getaddresses(headers.get_all("To", []) + headers.get_all("Cc", []))
    return (sender[0][1] if sender else ""), [a for _, a in rcpts if a]


def generate(n, folder):
    os.makedirs(folder, exist_ok=True)
    for i in range(1, n + 1):
        body = "".join("line %d of message %d, some text to make it realistic\r\n" % (j, i)
                       for j in range(20))
        raw = (
            "From: Bench Sender <sender@example.org>\r\n"
            "To: Recipient %d <rcpt%d@example.net>\r\n"
            "Cc: copy@example.net\r\n"
            "Subject: bench message %d\r\n"
            "Date: %s\r\n"
            "Message-ID: <bench-%d@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n%s" % (i, i, i, email.utils.formatdate(), i, body)
        )
        with open(os.path.join(folder, "%06d.eml" % i), "wb") as f:
            f.write(raw.encode("utf-8"))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--generate":
        generate(int(sys.argv[2]), sys.argv[3])
        return
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    host, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    messages = []
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".eml")):
        with open(os.path.join(folder, name), "rb") as f:
            raw = f.read()
        sender, rcpts = envelope(raw)
        if not rcpts:
            sys.exit("%s: no To or Cc address" % name)
        messages.append((sender, rcpts, raw))
    start = time.perf_counter()
    cpu = time.process_time()
    smtp = smtplib.SMTP(host, port)
    for sender, rcpts, raw in messages:
        refused = smtp.sendmail(sender, rcpts, raw)
        if refused:
            sys.exit("refused: %r" % refused)
    smtp.quit()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    print(json.dumps({
        "messages": len(messages),
        "seconds": round(seconds, 4),
        "per_second": round(len(messages) / seconds, 1) if seconds > 0 else None,
        "cpu_us_per_message": round(cpu * 1e6 / len(messages)) if messages else None,
    }))


if __name__ == "__main__":
    main()
