package themule

import (
	"net/url"
	"regexp"
	"strings"
)

// userinfoPassword finds the password of a URL that net/url cannot parse.
var userinfoPassword = regexp.MustCompile(`(://[^/@:]*:)[^/@]*@`)

// maskURL returns raw with its password replaced by "***", for messages: a Redis URL may carry a
// password, and none may ever be printed.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return userinfoPassword.ReplaceAllString(raw, "${1}***@")
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	// net/url would escape "***" as %2A%2A%2A: put a placeholder in, then the stars.
	const placeholder = "themule-masked-password"
	u.User = url.UserPassword(u.User.Username(), placeholder)
	return strings.Replace(u.String(), ":"+placeholder+"@", ":***@", 1)
}
