//! `noop`: answers 204 with no body and touches nothing, so benchmarks measure
//! the cost of an execution itself (instantiate, call, tear down).

use arcade_sdk::{Request, Response};

fn noop(_req: Request) -> Response {
    Response::empty(204)
}

arcade_sdk::export!(noop);
