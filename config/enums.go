package config

import "fmt"

// Validate reports whether s is a known strategy.
func (s Strategy) Validate() error {
	for _, v := range Strategies {
		if s == v {
			return nil
		}
	}
	return fmt.Errorf("unknown selection strategy %q (want priority, round_robin or random)", string(s))
}

// Validate reports whether t is a supported provider type.
func (t ProviderType) Validate() error {
	switch t {
	case TypeAnthropic, TypeOpenAI:
		return nil
	}
	return fmt.Errorf("unknown provider type %q (want anthropic or openai)", string(t))
}

// Validate reports whether a is a known auth type.
func (a AuthType) Validate() error {
	switch a {
	case AuthAPIKey, AuthAuthToken:
		return nil
	}
	return fmt.Errorf("unknown auth type %q (want api_key or auth_token)", string(a))
}
