package useragent

import "strings"

// Windows reports the NT kernel version; these are the names people know.
// Windows 11 still says "Windows NT 10.0", so it is counted as "10": only
// User-Agent Client Hints could tell them apart.
var windowsVersions = map[string]string{
	"10.0": "10",
	"6.3":  "8.1",
	"6.2":  "8",
	"6.1":  "7",
	"6.0":  "Vista",
	"5.2":  "XP",
	"5.1":  "XP",
}

// osVersion extracts the version of the OS the trie found, as major.minor.
// Browsers freeze some of these (macOS reads 10.15 on every version since
// 11), so this is informative, not exact.
func osVersion(ua, os string) string {
	switch os {
	case "Windows":
		return windowsVersions[versionAfter(ua, "Windows NT ")]
	case "macOS":
		return versionAfter(ua, "Mac OS X ")
	case "iOS":
		if v := versionAfter(ua, "iPhone OS "); v != "" {
			return v
		}
		return versionAfter(ua, "CPU OS ")
	case "Android":
		return versionAfter(ua, "Android ")
	}
	return ""
}

// versionAfter reads up to two numeric components separated by '.' or '_'
// right after the first occurrence of token, joined with '.'.
func versionAfter(ua, token string) string {
	i := strings.Index(ua, token)
	if i < 0 {
		return ""
	}
	rest := ua[i+len(token):]
	major, n := digits(rest)
	if major == "" {
		return ""
	}
	if len(rest) > n+1 && (rest[n] == '.' || rest[n] == '_') {
		if minor, _ := digits(rest[n+1:]); minor != "" {
			return major + "." + minor
		}
	}
	return major
}

// digits returns the leading run of at most 4 ASCII digits of s and its
// length; a longer run is not a version.
func digits(s string) (string, int) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n > 4 {
		return "", n
	}
	return s[:n], n
}
