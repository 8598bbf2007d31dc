//! Test fixture: writes a row, then 10 MB of logs. The output limit must stop it.
use arcade_sdk::{Request, Response, Table};
use serde_json::json;

fn chatty(_req: Request) -> Response {
    let _ = Table::new("fixtures", "marks").create::<serde_json::Value>("chatty", &json!({"by": "chatty"}));
    let line = "x".repeat(1023);
    for _ in 0..10 * 1024 {
        println!("{line}");
    }
    Response::text(200, "done")
}

arcade_sdk::export!(chatty);
