//! A loopback HTTP server for unit tests (the connectors' own tests, here and in `oauth`).

/// A loopback server for unit tests: answers connection `i` with `answer(i)` (`None` closes
/// it unanswered, after reading the request) and keeps what `record` makes of each request
/// line and body. Returns its `http://` base URL and the records.
pub fn test_server<T: Send + 'static>(
    record: impl Fn(String, Vec<u8>) -> T + Send + 'static,
    answer: impl Fn(usize) -> Option<String> + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<T>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (i, s) in l.incoming().enumerate() {
            let mut s = s.unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if h.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            log.lock()
                .unwrap()
                .push(record(first.trim().to_string(), body));
            if let Some(reply) = answer(i) {
                let _ = s.write_all(reply.as_bytes());
            }
        }
    });
    (url, seen)
}
