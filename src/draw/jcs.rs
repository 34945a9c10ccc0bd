//! JSON Canonicalization Scheme (RFC 8785) for the values the draw publishes: object members
//! sorted by their UTF-16 code units, no insignificant white space, strings escaped minimally.
//! Only integers appear in the draw's documents; a float is refused rather than risk a
//! different rendering in another language.

use serde_json::Value;

pub fn to_vec(v: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(v, &mut out)?;
    Ok(out)
}

fn write(v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            out.extend_from_slice(n.to_string().as_bytes())
        }
        Value::Number(n) => return Err(format!("non-integer number {n} in a canonical document")),
        // serde_json escapes exactly what RFC 8785 requires (", \, control characters, with the
        // short forms \b \f \n \r \t and lowercase \u00xx) and writes everything else as UTF-8.
        Value::String(s) => out.extend_from_slice(
            serde_json::to_string(s)
                .map_err(|e| e.to_string())?
                .as_bytes(),
        ),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, (k, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(&Value::String(k.clone()), out)?;
                out.push(b':');
                write(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form() {
        let v = json!({"b": [1, "x\u{1}\n"], "a": {"é": true, "A": null}, "€": -5});
        let s = String::from_utf8(to_vec(&v).expect("canonical")).expect("utf-8");
        assert_eq!(
            s,
            "{\"a\":{\"A\":null,\"é\":true},\"b\":[1,\"x\\u0001\\n\"],\"€\":-5}"
        );
        assert!(to_vec(&json!({"f": 1.5})).is_err());
    }

    #[test]
    fn utf16_order_differs_from_utf8_for_astral_keys() {
        // U+1F600 (surrogates D83D..) sorts before U+FF61 in UTF-16, after it in UTF-8.
        let v = json!({"\u{ff61}": 1, "\u{1f600}": 2});
        let s = String::from_utf8(to_vec(&v).expect("canonical")).expect("utf-8");
        assert!(s.find('\u{1f600}') < s.find('\u{ff61}'), "{s}");
    }
}
