//! The address the peer advertises: `/ip4/<ip>/udp/<port>/quic-v1`, chosen as the TypeScript
//! reference peer chooses it.

use std::net::IpAddr;

/// The UDP port of a multiaddr such as `/ip4/0.0.0.0/udp/11984/quic-v1`: the digits after the
/// first `/udp/` that is followed by digits and then `/` or the end; `None` if there is none or
/// it is above 65535.
pub fn listen_port(listen_addr: &str) -> Option<u16> {
    let candidate = listen_addr
        .match_indices("/udp/")
        .find_map(|(at, marker)| {
            let after = &listen_addr[at + marker.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let terminated = after[digits..].is_empty() || after[digits..].starts_with('/');
            (digits > 0 && terminated).then(|| &after[..digits])
        })?;
    // More digits than u32 holds is far above 65535 too.
    candidate
        .parse::<u32>()
        .ok()
        .and_then(|port| u16::try_from(port).ok())
}

/// `ADVERTISE_IP` if set, else the first non-loopback IPv4 address of this machine, else
/// `127.0.0.1`.
pub fn advertise_ip() -> String {
    if let Some(chosen) = std::env::var("ADVERTISE_IP")
        .ok()
        .filter(|ip| !ip.is_empty())
    {
        return chosen;
    }
    let interfaces = if_addrs::get_if_addrs().unwrap_or_default();
    interfaces
        .iter()
        .find_map(|interface| match interface.ip() {
            IpAddr::V4(ip) if !ip.is_loopback() => Some(ip.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

#[cfg(test)]
mod tests {
    use super::listen_port;

    #[test]
    fn listen_port_finds_the_udp_port() {
        let table = [
            ("/ip4/0.0.0.0/udp/11984/quic-v1", Some(11984)),
            ("/ip4/0.0.0.0/udp/4001", Some(4001)),
            ("/ip4/0.0.0.0/udp/0/quic-v1", Some(0)),
            ("/ip4/0.0.0.0/udp/65535", Some(65535)),
            ("/ip4/0.0.0.0/udp/65536", None),
            ("/ip4/0.0.0.0/udp/99999999999999999999", None),
            ("/ip4/0.0.0.0/udp/12a/udp/7", Some(7)),
            ("/ip4/0.0.0.0/tcp/4001", None),
            ("/ip4/0.0.0.0/udp/", None),
            ("", None),
        ];
        for (addr, expected) in table {
            assert_eq!(listen_port(addr), expected, "listen_port({addr:?})");
        }
    }
}
