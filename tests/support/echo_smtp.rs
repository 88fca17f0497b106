//! A loopback SMTP server that echoes back what it was sent as credentials: it accepts the
//! login (AUTH PLAIN or LOGIN), then refuses every recipient with a 550 reply that repeats
//! the AUTH string, the password and encodings of it, as a careless or hostile server might.
//! It serves connections until dropped; no fixed port.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The server; `port` to put in `aie.yaml`.
pub struct EchoSmtp {
    pub port: u16,
    /// The AUTH lines the server received (to check the client sent the login).
    pub auth_lines: Arc<Mutex<Vec<String>>>,
}

impl EchoSmtp {
    /// Starts the server; `password` is what it repeats in plain and encoded forms.
    pub fn start(password: &str) -> EchoSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let auth_lines = Arc::new(Mutex::new(Vec::new()));
        let (lines, password) = (auth_lines.clone(), password.to_string());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (lines, password) = (lines.clone(), password.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &lines, &password);
                });
            }
        });
        EchoSmtp { port, auth_lines }
    }

    /// The `smtp:` section of aie.yaml for this server (no TLS, with a login).
    pub fn config(&self) -> String {
        format!(
            "smtp:\n  host: 127.0.0.1\n  port: {}\n  security: none\n  from: Sam Owner <sam@owner.example>\n  auth: true\n  timeout_seconds: 10\n",
            self.port
        )
    }
}

fn serve(conn: TcpStream, lines: &Mutex<Vec<String>>, password: &str) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"220 echo.example ESMTP\r\n")?;
    let mut auth = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-echo.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n".to_string()
        } else if upper.starts_with("AUTH PLAIN") {
            lines.lock().unwrap().push(cmd.clone());
            auth = cmd[10..].trim().to_string();
            if auth.is_empty() {
                // The response comes on the next line.
                w.write_all(b"334 \r\n")?;
                line.clear();
                r.read_line(&mut line)?;
                auth = line.trim().to_string();
            }
            "235 2.7.0 accepted\r\n".to_string()
        } else if upper.starts_with("AUTH LOGIN") {
            lines.lock().unwrap().push(cmd.clone());
            let mut parts = Vec::new();
            for prompt in ["334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n"] {
                w.write_all(prompt.as_bytes())?;
                line.clear();
                r.read_line(&mut line)?;
                parts.push(line.trim().to_string());
            }
            auth = parts.join(" ");
            "235 2.7.0 accepted\r\n".to_string()
        } else if upper.starts_with("MAIL") || upper.starts_with("RSET") {
            "250 2.0.0 ok\r\n".to_string()
        } else if upper.starts_with("RCPT") {
            format!(
                "550-5.7.1 login {auth} is not allowed to send\r\n550-5.7.1 password {password} url {} padded {}\r\n550 5.7.1 inside {}\r\n",
                URL_SAFE_NO_PAD.encode(password),
                STANDARD.encode(password),
                STANDARD.encode(format!("xy{password}z")),
            )
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            "502 5.5.2 what\r\n".to_string()
        };
        w.write_all(reply.as_bytes())?;
    }
}
