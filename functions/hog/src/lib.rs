//! Test fixture: writes a row, then allocates without bound. The memory limit must stop it.
use arcade_sdk::{Request, Response, Table};
use serde_json::json;

fn hog(_req: Request) -> Response {
    let _ = Table::new("fixtures", "marks").create::<serde_json::Value>("hog", &json!({"by": "hog"}));
    let mut keep: Vec<Vec<u8>> = Vec::new();
    loop {
        keep.push(vec![7u8; 1 << 20]);
        std::hint::black_box(&keep);
    }
}

arcade_sdk::export!(hog);
