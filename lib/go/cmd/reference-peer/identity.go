package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// vladFor is a deterministic identifier derived from the peer's name (it stands in for a real
// VLAD): "vlad-" and the first 32 hex digits of SHA-256(name).
func vladFor(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "vlad-" + hex.EncodeToString(sum[:])[:32]
}

var udpPort = regexp.MustCompile(`/udp/(\d+)(/|$)`)

// listenPort is the UDP port of a `/ip4/<ip>/udp/<port>/quic-v1` multiaddr; false if none.
func listenPort(listenAddr string) (int, bool) {
	match := udpPort.FindStringSubmatch(listenAddr)
	if match == nil {
		return 0, false
	}
	port, err := strconv.Atoi(match[1])
	if err != nil || port > 65535 {
		return 0, false
	}
	return port, true
}

// advertiseIP is chosen (ADVERTISE_IP) if set, else the first non-loopback IPv4 address of this
// machine, else 127.0.0.1.
func advertiseIP(chosen string) string {
	if chosen != "" {
		return chosen
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, addr := range addrs {
			ipNet, ok := addr.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := ipNet.IP.To4(); ip4 != nil && !strings.HasPrefix(ip4.String(), "127.") {
				return ip4.String()
			}
		}
	}
	return "127.0.0.1"
}
