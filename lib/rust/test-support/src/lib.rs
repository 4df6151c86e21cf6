//! Test support for `the_mule` and its reference peer: a real `redis-server` (Debian's package)
//! on a free loopback port, started per test and killed when dropped, and a poll with a
//! deadline for conditions no event announces.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for a condition before it fails: generous, because CI machines are
/// shared; tests never assert on elapsed time.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running `redis-server`; killed (and reaped) on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    password: Option<String>,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port without persistence; returns once it
    /// logged that it accepts connections.
    pub fn start() -> RedisServer {
        RedisServer::start_with(None)
    }

    /// Like [`start`](Self::start), with `--requirepass <password>`.
    pub fn start_with_password(password: &str) -> RedisServer {
        RedisServer::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> RedisServer {
        let port = free_port();
        let mut command = Command::new("redis-server");
        command.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        // Logs to stdout by default; the ready line is the event to wait for.
        command.args(["--loglevel", "notice"]);
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut output = String::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.expect("redis-server output");
            output.push_str(&line);
            output.push('\n');
            if line.contains("Ready to accept connections") {
                // Redis keeps logging: drain the pipe so that it never blocks on a full one.
                std::thread::spawn(move || lines.for_each(drop));
                return RedisServer {
                    child,
                    port,
                    password: password.map(str::to_owned),
                };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server on port {port} exited before it was ready:\n{output}");
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://[:password@]127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: u32) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/{db}", self.port),
            None => format!("redis://127.0.0.1:{}/{db}", self.port),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Polls `check` every 20 ms until it returns `Some`, and returns that; panics with `what`
/// after [`DEADLINE`]. For synchronous tests (a subprocess and a blocking Redis connection).
pub fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
