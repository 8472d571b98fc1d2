//! Remembered answers for `Idempotency-Key`: the same key gets the same answer, once.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Db, Tx, now_ms};

pub struct Remembered {
    pub request_hash: String,
    pub response: String,
}

pub async fn find(db: &Db, project_id: &str, key: &str) -> Result<Option<Remembered>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT request_hash, response FROM idempotency_keys WHERE project_id = $1 AND key = $2",
    )
    .bind(project_id)
    .bind(key)
    .fetch_optional(&db.read)
    .await?;
    Ok(row.map(|(request_hash, response)| Remembered {
        request_hash,
        response,
    }))
}

/// Records the answer in the same transaction as the work it describes, so either both exist
/// or neither. A concurrent twin fails here on the primary key and rolls its work back.
pub async fn remember(
    tx: &mut Tx,
    project_id: &str,
    key: &str,
    request_hash: &str,
    response: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (project_id, key, request_hash, response, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(project_id)
    .bind(key)
    .bind(request_hash)
    .bind(response)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets answers older than `before` (epoch ms). Keys are kept for at least a day, long
/// enough for any client's retries.
pub async fn purge(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&db.write)
            .await?
            .rows_affected(),
    )
}

/// What `Idempotency-Key` compares: the SHA-256 of the request as parsed, written back with
/// every object's keys sorted and no spacing, so a client that re-serialises the same JSON (key
/// order, whitespace, escapes such as `\u00e9` for `é`) is recognised as retrying. Numbers keep
/// their written form as serde_json reads it (`1` and `1.0` differ, as they may to a template).
pub fn request_hash(parsed: &Value) -> String {
    let mut canonical = Vec::new();
    write_sorted(parsed, &mut canonical);
    format!("{:x}", Sha256::digest(&canonical))
}

/// The SHA-256 of the raw body: what answers stored by earlier versions were keyed by.
pub fn raw_hash(raw: &[u8]) -> String {
    format!("{:x}", Sha256::digest(raw))
}

/// Writes `v` as JSON with object keys in byte order, whatever order the map keeps them in.
fn write_sorted(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                write_sorted(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_sorted(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_spacing_and_escapes_do_not_change_the_hash() {
        let a: Value =
            serde_json::from_str(r#"{"to":"a@x.com","data":{"b":1,"a":[1,{"y":2,"x":"é"}]}}"#)
                .unwrap();
        let b: Value = serde_json::from_str("{ \"data\" : { \"a\" : [ 1 , { \"x\" : \"\\u00e9\", \"y\" : 2 } ], \"b\" : 1 }, \"to\" : \"a@x.com\" }").unwrap();
        assert_eq!(request_hash(&a), request_hash(&b));
        let c: Value =
            serde_json::from_str(r#"{"to":"a@x.com","data":{"b":2,"a":[1,{"y":2,"x":"é"}]}}"#)
                .unwrap();
        assert_ne!(request_hash(&a), request_hash(&c));
        // Array order is meaning (recipients in order), so it counts.
        let d: Value = serde_json::from_str(r#"{"to":["a@x.com","b@x.com"]}"#).unwrap();
        let e: Value = serde_json::from_str(r#"{"to":["b@x.com","a@x.com"]}"#).unwrap();
        assert_ne!(request_hash(&d), request_hash(&e));
    }
}
