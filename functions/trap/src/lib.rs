//! Test fixture: writes a row, then traps (a panic). Nothing it wrote may commit.
use arcade_sdk::{Request, Response, Table};
use serde_json::json;

fn trap(_req: Request) -> Response {
    let _ = Table::new("fixtures", "marks").create::<serde_json::Value>("trap", &json!({"by": "trap"}));
    panic!("deliberate trap after a write");
}

arcade_sdk::export!(trap);
