#!/bin/sh
# Test certificates for suiji's SMTP TLS tests (openssl, EC P-256; fast).
#
# Usage: tools/test_ca.sh DIR
#
# Writes into DIR (created if missing):
#   ca.pem, ca.key                 a private CA (CN=Suiji Test CA, O=某省应急管理厅 Test), CA:TRUE
#   server.pem, server.key         signed by the CA; CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   wrongname.pem, wrongname.key   signed by the CA; SAN DNS:mail.example.org only
#   selfsigned.pem, selfsigned.key self-signed; SAN DNS:localhost, IP:127.0.0.1, CA:FALSE
# Leaves: v3, serverAuth EKU, keyUsage digitalSignature, authority/subject key ids, 30 days, so
# rustls/webpki accepts them when ca.pem is trusted. Silent on success; non-zero exit on failure.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command, showing its output only when it fails.
run() {
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" >&2
        echo "test_ca.sh: failed: $*" >&2
        exit 1
    fi
}

serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

# Our own config, so the system openssl.cnf does not add or change extensions.
cat >"$work/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
string_mask = utf8only
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost, IP:127.0.0.1
[wrong_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:mail.example.org
[self_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:localhost, IP:127.0.0.1
CNF
cnf=$work/openssl.cnf

key() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# The CA (self-signed).
key "$work/ca.key"
run openssl req -config "$cnf" -new -x509 -utf8 -key "$work/ca.key" -out "$work/ca.pem" \
    -subj "/CN=Suiji Test CA/O=某省应急管理厅 Test" -days 30 -sha256 \
    -set_serial "$(serial)" -extensions ca_ext

# A leaf signed by the CA: leaf NAME SUBJECT EXTENSIONS
leaf() {
    key "$work/$1.key"
    run openssl req -config "$cnf" -new -utf8 -key "$work/$1.key" -out "$work/$1.csr" -subj "$2"
    run openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
        -set_serial "$(serial)" -days 30 -sha256 -extfile "$cnf" -extensions "$3" \
        -out "$work/$1.pem"
}
leaf server "/CN=localhost" leaf_ext
leaf wrongname "/CN=mail.example.org" wrong_ext

# Self-signed, not from the CA.
key "$work/selfsigned.key"
run openssl req -config "$cnf" -new -x509 -utf8 -key "$work/selfsigned.key" \
    -out "$work/selfsigned.pem" -subj "/CN=localhost" -days 30 -sha256 \
    -set_serial "$(serial)" -extensions self_ext

run openssl verify -CAfile "$work/ca.pem" "$work/server.pem"
run openssl verify -CAfile "$work/ca.pem" "$work/wrongname.pem"

for n in ca server wrongname selfsigned; do
    cp "$work/$n.pem" "$dir/$n.pem"
    cp "$work/$n.key" "$dir/$n.key"
done
chmod 644 "$dir"/ca.pem "$dir"/server.pem "$dir"/wrongname.pem "$dir"/selfsigned.pem
