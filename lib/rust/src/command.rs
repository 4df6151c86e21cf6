//! Typed commands: what `tm` pushes to `<peer>_command`, parsed once so peers match on variants
//! instead of splitting strings.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A command from the orchestrator. [`Command::parse`] never fails: anything that is not one of
/// the standard commands, spelled exactly, is [`Command::Other`] with the raw text.
/// [`Display`](fmt::Display) writes the raw text back, byte for byte.
///
/// ```
/// use the_mule::Command;
///
/// assert_eq!(Command::parse("connect"), Command::Connect);
/// assert_eq!(Command::parse("restart|0.5").to_string(), "restart|0.5");
/// assert_eq!(Command::parse("peer|vlad-1|/ip4/10.0.0.2/udp/4001/quic-v1"),
///            Command::Peer { multiaddr: "vlad-1|/ip4/10.0.0.2/udp/4001/quic-v1".into() });
/// assert_eq!(Command::parse("push|bob|hi"), Command::Other("push|bob|hi".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `connect`: join the network.
    Connect,
    /// `disconnect`: leave the network.
    Disconnect,
    /// `shutdown`: report `stopped` and exit 0.
    Shutdown,
    /// `restart|<secs>`: exit 42 and be run again after the delay (see
    /// [`MuleClient::restart`](crate::MuleClient::restart)). A struct variant with the original
    /// library's field name; the delay is typed and may be fractional (`0.5`), and
    /// `delay_secs.to_string()` gives it back as sent.
    Restart {
        /// The delay, as sent.
        delay_secs: RestartDelay,
    },
    /// `peer|<addr>`: a bootstrap peer's address info, everything after the first `|` (it may
    /// itself contain `|`, as the reference peers' `<vlad>|<multiaddr>` does). The field keeps
    /// the original library's name, `multiaddr`, although it holds the whole address info.
    Peer {
        /// The address info, verbatim.
        multiaddr: String,
    },
    /// Anything else, verbatim: `push|bob|hello`, `pull`, `rotate-key`, `restart|abc`, ...
    /// (The original library called this variant `Test`.)
    Other(String),
}

impl Command {
    /// Parses a raw command. Exact spellings only: `connect|x` or `restart|-1` are
    /// [`Command::Other`], so a peer never acts on a command it half understood.
    pub fn parse(raw: &str) -> Command {
        match raw {
            "connect" => return Command::Connect,
            "disconnect" => return Command::Disconnect,
            "shutdown" => return Command::Shutdown,
            _ => {}
        }
        match raw.split_once('|') {
            Some(("restart", secs)) => match RestartDelay::parse(secs) {
                Some(delay_secs) => Command::Restart { delay_secs },
                None => Command::Other(raw.to_owned()),
            },
            Some(("peer", addr)) if !addr.is_empty() => Command::Peer {
                multiaddr: addr.to_owned(),
            },
            _ => Command::Other(raw.to_owned()),
        }
    }
}

impl FromStr for Command {
    type Err = std::convert::Infallible;

    /// Same as [`Command::parse`]; lets `"connect".parse::<Command>()` work.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(Command::parse(raw))
    }
}

impl fmt::Display for Command {
    /// Writes the command as it was sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Connect => f.write_str("connect"),
            Command::Disconnect => f.write_str("disconnect"),
            Command::Shutdown => f.write_str("shutdown"),
            Command::Restart { delay_secs } => write!(f, "restart|{delay_secs}"),
            Command::Peer { multiaddr } => write!(f, "peer|{multiaddr}"),
            Command::Other(raw) => f.write_str(raw),
        }
    }
}

/// How long the entrypoint waits before running a restarted peer: a non-negative decimal
/// number of seconds (`5`, `0.5`). It keeps the text it was given, because the restart protocol
/// writes the delay to the delay file *as given*.
///
/// ```
/// use std::time::Duration;
/// use the_mule::RestartDelay;
///
/// let delay = RestartDelay::parse("0.50").unwrap();
/// assert_eq!(delay.as_duration(), Duration::from_millis(500));
/// assert_eq!(delay.to_string(), "0.50");
/// assert_eq!(RestartDelay::from(Duration::from_secs(2)).to_string(), "2");
/// assert!(RestartDelay::parse("-1").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartDelay {
    text: String,
    duration: Duration,
}

impl RestartDelay {
    /// Parses `<digits>` or `<digits>.<digits>`, the only forms the entrypoint's `sleep`
    /// understands everywhere; `None` for anything else (`-1`, `abc`, `1e3`, empty).
    pub fn parse(text: &str) -> Option<RestartDelay> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(fraction) {
            return None;
        }
        let secs: f64 = text.parse().ok()?;
        let duration = Duration::try_from_secs_f64(secs).ok()?;
        Some(RestartDelay {
            text: text.to_owned(),
            duration,
        })
    }

    /// The delay as written in the command (and in the delay file).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The delay as a duration.
    pub fn as_duration(&self) -> Duration {
        self.duration
    }
}

impl From<Duration> for RestartDelay {
    /// A delay of `duration`, written in seconds (`2`, `0.5`).
    fn from(duration: Duration) -> Self {
        RestartDelay {
            text: duration.as_secs_f64().to_string(),
            duration,
        }
    }
}

impl From<u64> for RestartDelay {
    /// A delay of whole seconds.
    fn from(secs: u64) -> Self {
        RestartDelay {
            text: secs.to_string(),
            duration: Duration::from_secs(secs),
        }
    }
}

impl fmt::Display for RestartDelay {
    /// Writes the delay as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restart(text: &str) -> Command {
        Command::Restart {
            delay_secs: RestartDelay::parse(text).expect(text),
        }
    }

    #[test]
    fn command_parse_maps_every_contract_case() {
        let other = |raw: &str| Command::Other(raw.to_owned());
        let table = [
            ("connect", Command::Connect),
            ("disconnect", Command::Disconnect),
            ("shutdown", Command::Shutdown),
            ("restart|5", restart("5")),
            ("restart|0.5", restart("0.5")),
            ("restart|0", restart("0")),
            (
                "peer|vlad-1|/ip4/1.2.3.4/udp/1/quic-v1",
                Command::Peer {
                    multiaddr: "vlad-1|/ip4/1.2.3.4/udp/1/quic-v1".into(),
                },
            ),
            (
                "peer|a",
                Command::Peer {
                    multiaddr: "a".into(),
                },
            ),
            ("peer|", other("peer|")),
            ("restart|abc", other("restart|abc")),
            ("restart|", other("restart|")),
            ("restart|-1", other("restart|-1")),
            ("restart|1e3", other("restart|1e3")),
            ("restart|.5", other("restart|.5")),
            ("restart|5.", other("restart|5.")),
            ("restart| 5", other("restart| 5")),
            ("restart|1|2", other("restart|1|2")),
            ("restart", other("restart")),
            ("connect|x", other("connect|x")),
            ("Connect", other("Connect")),
            ("push|bob|hello", other("push|bob|hello")),
            ("pull", other("pull")),
            ("", other("")),
        ];
        for (raw, expected) in table {
            assert_eq!(Command::parse(raw), expected, "Command::parse({raw:?})");
        }
    }

    #[test]
    fn command_display_gives_back_the_raw_text() {
        for raw in [
            "connect",
            "disconnect",
            "shutdown",
            "restart|0.50",
            "peer|a|b",
            "push|x|y",
            "restart|x",
            "",
        ] {
            assert_eq!(Command::parse(raw).to_string(), raw);
        }
    }

    #[test]
    fn command_from_str_is_parse() {
        assert_eq!("shutdown".parse::<Command>(), Ok(Command::Shutdown));
    }

    #[test]
    fn restart_delay_keeps_the_text_and_the_duration() {
        let delay = RestartDelay::parse("2.25").unwrap();
        assert_eq!(delay.as_str(), "2.25");
        assert_eq!(delay.as_duration(), Duration::from_millis(2250));
    }

    #[test]
    fn restart_delay_from_duration_writes_plain_seconds() {
        assert_eq!(
            RestartDelay::from(Duration::from_millis(500)).as_str(),
            "0.5"
        );
        assert_eq!(RestartDelay::from(Duration::from_secs(3)).as_str(), "3");
        assert_eq!(RestartDelay::from(7).as_str(), "7");
    }
}
