package useragent

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ua-parser/uap-go/uaparser"
	"gopkg.in/yaml.v3"
)

// Crawler detection uses uap-core's regexes.yaml (vendored by uap-go as
// uaparser.DefinitionYaml), a list maintained by the ua-parser project. In
// uap-core a user agent is a crawler when its *device* family is "Spider".
// Device rules are tried in file order and the first match wins, and that
// order matters: the catch-all spider rule contains words such as "silk" or
// "bot" that also occur in real devices (Kindle's Silk browser, Cubot phones)
// matched by earlier rules. crawlerRules reproduces exactly that decision,
// but fast: see literals.go.

// spiderFamily is the device family uap-core gives to crawlers.
const spiderFamily = "Spider"

// deviceRule is one entry of uap-core's device_parsers.
type deviceRule struct {
	re      *lazyRegexp
	factors [][]string // the folded UA must contain a string of each set for re to match
	spider  bool
}

// matches reports whether the rule matches ua, whose folded form is folded.
func (r *deviceRule) matches(ua, folded string) bool {
	if !containsAll(folded, r.factors) {
		return false
	}
	return r.re.MatchString(ua)
}

// crawlerRules holds uap-core's device rules in file order.
type crawlerRules struct {
	rules   []deviceRule
	spiders []int // indexes of the rules whose family is Spider
}

// defaultCrawlerRules builds the rules once per process: they are immutable
// and take tens of milliseconds to compile.
var defaultCrawlerRules = sync.OnceValues(func() (*crawlerRules, error) {
	return loadCrawlerRules(uaparser.DefinitionYaml)
})

// loadCrawlerRules compiles the device_parsers section of a uap-core
// regexes.yaml document.
func loadCrawlerRules(doc []byte) (*crawlerRules, error) {
	var def struct {
		Devices []struct {
			Regex  string `yaml:"regex"`
			Flag   string `yaml:"regex_flag"`
			Family string `yaml:"device_replacement"`
		} `yaml:"device_parsers"`
	}
	if err := yaml.Unmarshal(doc, &def); err != nil {
		return nil, fmt.Errorf("useragent: crawler list: %w", err)
	}
	c := &crawlerRules{rules: make([]deviceRule, 0, len(def.Devices))}
	for i, d := range def.Devices {
		expr := d.Regex
		if d.Flag != "" {
			expr = "(?" + d.Flag + ")" + expr
		}
		r, err := newDeviceRule(expr, d.Family == spiderFamily)
		if err != nil {
			return nil, fmt.Errorf("useragent: crawler list rule %d: %w", i, err)
		}
		if r.spider {
			c.spiders = append(c.spiders, len(c.rules))
		}
		c.rules = append(c.rules, r)
	}
	if len(c.spiders) == 0 {
		return nil, errors.New("useragent: crawler list has no Spider rule")
	}
	return c, nil
}

func newDeviceRule(expr string, spider bool) (deviceRule, error) {
	re, err := newLazyRegexp(expr)
	if err != nil {
		return deviceRule{}, err
	}
	factors, err := requiredFactors(expr)
	if err != nil {
		return deviceRule{}, err
	}
	return deviceRule{re: re, factors: factors, spider: spider}, nil
}

// isCrawler reports whether uap-core's device family for ua is Spider.
// Most user agents match no spider rule at all, so those are tried first;
// only then are the earlier rules checked for a match that takes precedence.
func (c *crawlerRules) isCrawler(ua, folded string) bool {
	for _, i := range c.spiders {
		if !c.rules[i].matches(ua, folded) {
			continue
		}
		for j := range c.rules[:i] {
			if r := &c.rules[j]; !r.spider && r.matches(ua, folded) {
				return false
			}
		}
		return true
	}
	return false
}
