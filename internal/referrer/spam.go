package referrer

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// SpamList is a list of referrer-spam hosts, in the format of Matomo's community list
// (spammers.txt: one host a line; blank lines and # comments are skipped). A host on
// the list also covers its subdomains. No package registry serves a maintained list,
// so the operator points --referrer-spam at a copy they keep current.
type SpamList struct {
	hosts map[string]struct{}
}

// maxSpamLine bounds a line of the list: a host name is at most 253 bytes.
const maxSpamLine = 1024

// ParseSpamList reads a list. A line that is not a plain host name is an error naming
// its number, so a wrong file (HTML, a CSV) is not taken for an empty list.
func ParseSpamList(r io.Reader) (*SpamList, error) {
	l := &SpamList{hosts: map[string]struct{}{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxSpamLine), maxSpamLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		host := strings.TrimSuffix(strings.ToLower(line), ".")
		if !isHostName(host) {
			return nil, fmt.Errorf("referrer spam list line %d: %q is not a host name", n, clip(line))
		}
		l.hosts[host] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("referrer spam list: %w", err)
	}
	if len(l.hosts) == 0 {
		return nil, fmt.Errorf("referrer spam list: no host in it")
	}
	return l, nil
}

// Len is the number of hosts on the list.
func (l *SpamList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.hosts)
}

// Has reports whether host (as Info.Host gives it: lower case, no "www.") or one of its
// parent domains is on the list. A nil list has nothing.
func (l *SpamList) Has(host string) bool {
	if l == nil || host == "" {
		return false
	}
	for {
		if _, ok := l.hosts[host]; ok {
			return true
		}
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return false
		}
		host = host[i+1:]
	}
}

func isHostName(s string) bool {
	if s == "" || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
