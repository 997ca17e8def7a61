package config

import "testing"

func TestEnumValidate(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"priority", StrategyPriority.Validate(), false},
		{"round_robin", StrategyRoundRobin.Validate(), false},
		{"random", StrategyRandom.Validate(), false},
		{"fastest", Strategy("fastest").Validate(), true},
		{"anthropic", TypeAnthropic.Validate(), false},
		{"openai", TypeOpenAI.Validate(), false},
		{"zed", ProviderType("zed").Validate(), true},
		{"api_key", AuthAPIKey.Validate(), false},
		{"auth_token", AuthAuthToken.Validate(), false},
		{"bearer", AuthType("bearer").Validate(), true},
	}
	for _, tt := range tests {
		if (tt.err != nil) != tt.wantErr {
			t.Errorf("%s: Validate() = %v, want error %v", tt.name, tt.err, tt.wantErr)
		}
	}
}
