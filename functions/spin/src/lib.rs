//! Test fixture: writes a row, then loops forever. The timeout must stop it and commit nothing.
use arcade_sdk::{Request, Response, Table};
use serde_json::json;

fn spin(_req: Request) -> Response {
    let _ = Table::new("fixtures", "marks").create::<serde_json::Value>("spin", &json!({"by": "spin"}));
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

arcade_sdk::export!(spin);
