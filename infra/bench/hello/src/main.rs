//! The baseline for the cold-start benchmark: a bare lambda_http function, built with the
//! same profile as Marquee's functions.

use lambda_http::{Body, Error, Request, Response, service_fn};

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_http::run(service_fn(|_: Request| async {
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(r#"{"status":"ok"}"#))
                .map_err(Error::from)
        })))
}
