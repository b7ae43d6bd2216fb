//! A misbehaving Lambda runtime for the gateway's tests: for each invocation it
//! sends bytes that are not HTTP, answers a request id it was never given, and
//! then answers the real one with a body that is not JSON. The gateway must
//! survive all of it and fail only that invocation.

use std::io::{Read, Write};
use std::net::TcpStream;

fn request(api: &str, raw: &str) -> String {
    let mut s = TcpStream::connect(api).expect("runtime API reachable");
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn post(api: &str, path: &str, body: &str) -> String {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    request(api, &raw)
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or("<nothing>")
}

fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API");
    loop {
        let next = request(
            &api,
            &format!(
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n"
            ),
        );
        let id = next
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("lambda-runtime-aws-request-id")
                    .then(|| v.trim().to_string())
            })
            .expect("a request id header");
        let junk = request(&api, "\x00\x01 this is not HTTP at all \r\n\r\n");
        println!("garbage: junk got {}", status_line(&junk));
        let wrong = post(
            &api,
            "/2018-06-01/runtime/invocation/not-a-real-id/response",
            "{}",
        );
        println!("garbage: wrong id got {}", status_line(&wrong));
        let real = post(
            &api,
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            "this is not JSON {",
        );
        println!("garbage: non-JSON answer got {}", status_line(&real));
    }
}
