//! A store copied whole into a new SQLite file, for a rehearsal (`suiji rehearse`): the
//! original is only read. From SQLite by `VACUUM INTO` (one consistent snapshot); from
//! PostgreSQL table by table in one read-only snapshot, each table packed by the server into
//! one JSON value and unpacked by SQLite.

use std::path::Path;

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError};

impl Store {
    /// Writes a copy of this store into `file` (which must not exist yet).
    pub async fn copy_into(&self, file: &Path) -> Result<(), StoreError> {
        let path = file.to_string_lossy().into_owned();
        match self.backend {
            Backend::Sqlite => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
            Backend::Postgres => {
                let url = crate::config::DatabaseUrl::new(format!("sqlite://{path}"));
                let settings = crate::config::DatabaseSettings {
                    url: url.clone(),
                    max_connections: 1,
                    busy_timeout_ms: 5000,
                };
                let target = Store::open(&url, &settings).await?;
                let copied = self.copy_tables(&target).await;
                target.close().await;
                copied
            }
        }
    }

    async fn copy_tables(&self, target: &Store) -> Result<(), StoreError> {
        let tables: Vec<String> = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND substr(name, 1, 7) != 'sqlite_' AND name != '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&target.pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        let mut read = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *read)
            .await?;
        let mut write = target.begin_write().await?;
        sqlx::query("PRAGMA defer_foreign_keys = ON")
            .execute(&mut *write)
            .await?;
        for table in tables {
            // Generated columns are not listed: SQLite computes them from the row.
            let columns: Vec<(String, String)> =
                sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                    .bind(&table)
                    .fetch_all(&mut *write)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
                    .collect::<Result<_, sqlx::Error>>()?;
            // Names come from our own schema, never from input.
            let names: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
            let packed: String = sqlx::query(AssertSqlSafe(format!(
                "SELECT COALESCE(json_agg(json_build_array({})), '[]')::text FROM \"{table}\"",
                names.join(", ")
            )))
            .fetch_one(&mut *read)
            .await?
            .try_get(0)?;
            // PostgreSQL renders bytes as `\x` and hex digits.
            let values: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| {
                    if ty.eq_ignore_ascii_case("BLOB") {
                        format!("unhex(substr(value ->> {i}, 3))")
                    } else {
                        format!("value ->> {i}")
                    }
                })
                .collect();
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO \"{table}\" ({}) SELECT {} FROM json_each($1)",
                names.join(", "),
                values.join(", ")
            )))
            .bind(packed)
            .execute(&mut *write)
            .await?;
        }
        read.rollback().await?;
        write.commit().await?;
        Ok(())
    }
}
