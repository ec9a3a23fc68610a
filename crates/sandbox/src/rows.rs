//! Row decoding in one place: a query names the tuple (or struct) it wants and [`FromRow`]
//! reads the columns in order, instead of a hand-written `|r| Ok((r.get(0)?, r.get(1)?, …))`
//! closure at every call site.

use rusqlite::types::FromSql;
use rusqlite::{Connection, OptionalExtension, Params, Row};

/// A value made from one row, its columns read in order.
pub(crate) trait FromRow: Sized {
    /// Reads the row.
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);

/// The first row of `sql`, if any.
pub(crate) fn query_opt<T: FromRow>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached(sql)?
        .query_row(params, T::from_row)
        .optional()
}

/// Every row of `sql`.
pub(crate) fn query_all<T: FromRow>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> rusqlite::Result<Vec<T>> {
    conn.prepare_cached(sql)?
        .query_map(params, T::from_row)?
        .collect()
}

/// The first column of the first row of `sql`, if any (a count, an id, a flag).
pub(crate) fn query_value<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached(sql)?
        .query_row(params, |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn tuples_read_their_columns_in_order() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a TEXT, b INTEGER, c TEXT);
             INSERT INTO t VALUES ('x', 1, NULL), ('y', 2, 'z');",
        )
        .unwrap();
        let all: Vec<(String, i64, Option<String>)> =
            query_all(&conn, "SELECT a, b, c FROM t ORDER BY a", []).unwrap();
        assert_eq!(
            all,
            [("x".into(), 1, None), ("y".into(), 2, Some("z".into()))]
        );
        let one: Option<(String,)> = query_opt(&conn, "SELECT a FROM t WHERE b = ?1", [2]).unwrap();
        assert_eq!(one, Some(("y".into(),)));
        let none: Option<(String,)> =
            query_opt(&conn, "SELECT a FROM t WHERE b = ?1", [3]).unwrap();
        assert_eq!(none, None);
        let n: Option<i64> = query_value(&conn, "SELECT COUNT(*) FROM t", []).unwrap();
        assert_eq!(n, Some(2));
    }
}
