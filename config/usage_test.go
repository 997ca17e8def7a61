package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUsageKeys(t *testing.T) {
	yaml := `providers:
  - name: A
    type: anthropic
    base_url: https://a.example
    prices: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}
    budget: {daily_usd: 5, monthly_usd: 50.5}
  - name: B
    type: openai
    base_url: https://b.example
model_routes:
  "*":
    - {provider: A}
    - {provider: B, model: cheap, prices: {input: 0.27, output: 1.1}}
settings:
  usage_db: ledger.db
  usage_retention_days: 30
  budget: {monthly_usd: 100}
`
	cfg, err := Parse("p.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := cfg.Provider("A")
	if diff := cmp.Diff(&Prices{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}, a.Prices); diff != "" {
		t.Errorf("A prices (-want +got):\n%s", diff)
	}
	if a.Budget != (Budget{DailyUSD: 5, MonthlyUSD: 50.5}) {
		t.Errorf("A budget %+v", a.Budget)
	}
	if b, _ := cfg.Provider("B"); b.Prices != nil || b.Budget.Set() {
		t.Errorf("B has prices %v, budget %+v", b.Prices, b.Budget)
	}
	if diff := cmp.Diff(&Prices{Input: 0.27, Output: 1.1}, cfg.Routes[0].Entries[1].Prices); diff != "" {
		t.Errorf("entry prices (-want +got):\n%s", diff)
	}
	s := cfg.Settings
	if s.UsageDB != "ledger.db" || s.UsageRetention != 30*24*time.Hour || s.Budget != (Budget{MonthlyUSD: 100}) {
		t.Errorf("settings: db %q, retention %v, budget %+v", s.UsageDB, s.UsageRetention, s.Budget)
	}
	if d := Defaults(); d.UsageRetention != 90*24*time.Hour || d.UsageDB != "" || d.Budget.Set() {
		t.Errorf("defaults: %+v", d)
	}
	// Prices and budgets do not make a provider another endpoint.
	a2 := a
	a2.Prices, a2.Budget = nil, Budget{}
	if !a.SameEndpoint(a2) {
		t.Error("a price or budget change counts as an endpoint change")
	}
}

func TestUsageKeyErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"prices: {input: 3}", "p.yaml:5: providers[0].prices.output: required: US dollars per million output tokens"},
		{"prices: {input: 3, output: -1}", "p.yaml:5: providers[0].prices.output: must not be negative"},
		{"prices: {input: x, output: 1}", "p.yaml:5: providers[0].prices.input: must be a number"},
		{"prices: {input: 1, output: 1, cache: 1}", `p.yaml:5: providers[0].prices.cache: unknown key "cache"`},
		{"budget: {daily: 5}", `p.yaml:5: providers[0].budget.daily: unknown key "daily"`},
		{"budget: {daily_usd: 0}", "p.yaml:5: providers[0].budget: set daily_usd or monthly_usd to a number above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			text := "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    " + tt.yaml + "\n"
			_, err := Parse("p.yaml", []byte(text), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	_, err := Parse("p.yaml", []byte("providers:\n  - {name: A, type: anthropic, base_url: https://a.example}\nsettings:\n  usage_retention_days: 0\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "p.yaml:4: settings.usage_retention_days: must be a number of days between 1 and 36500") {
		t.Errorf("retention 0: %v", err)
	}
}
