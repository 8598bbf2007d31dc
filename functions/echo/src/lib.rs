//! `echo`: answers 200 with what it was asked, as JSON:
//! `{"method", "path", "query", "trigger", "user", "body"}` (`user` is null
//! without a user, `body` is the body as text), and logs one info line.
//! Used by the end-to-end tests to check the request and response mapping.

use arcade_sdk::{Request, Response, log};
use serde::Serialize;

#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    trigger: &'static str,
    user: Option<&'a str>,
    body: std::borrow::Cow<'a, str>,
}

fn echo(req: Request) -> Response {
    log::info(format!("echo {} {} ({} bytes)", req.method(), req.path(), req.body().len()));
    let echo = Echo {
        method: req.method(),
        path: req.path(),
        query: req.query(),
        trigger: req.trigger().as_str(),
        user: req.user_id(),
        body: String::from_utf8_lossy(req.body()),
    };
    Response::json(200, &echo)
}

arcade_sdk::export!(echo);

#[cfg(test)]
mod tests {
    //! Handlers are plain functions, so they can be tested natively:
    //! `cargo test --target x86_64-unknown-linux-gnu` in functions/.
    use super::*;
    use arcade_sdk::Trigger;

    #[test]
    fn echoes_the_request() {
        let req = Request::new("POST", "/games/g1?full=1")
            .with_body("hello")
            .with_user_id("u1")
            .with_trigger(Trigger::Event, Some("databases.main.tables.games.rows.g1.create"));
        let res = echo(req);
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"method": "POST", "path": "/games/g1", "query": "full=1",
                "trigger": "event", "user": "u1", "body": "hello"})
        );
    }
}
