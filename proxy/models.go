package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/openai"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
)

// ModelsError is a model list request the provider refused.
type ModelsError struct {
	Status int
	// Message is the provider's error message, free of the key.
	Message string
}

func (e *ModelsError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// modelsRequest builds the request that lists a provider's models, a
// request that spends no tokens: GET /v1/models on an Anthropic-compatible
// provider (the Models API, authenticated like a messages request), GET
// {base_url}/models on an OpenAI-compatible one (openai.ModelsURL), with
// key (from 0) of its keys.
// The redactor returned knows the provider's secrets.
func modelsRequest(ctx context.Context, p config.Provider, key int) (*http.Request, *redactor, error) {
	base, err := url.Parse(p.BaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("provider %s: base_url %s is not a URL", p.Name, p.DisplayURL())
	}
	u := &upstream{cfg: p, base: base}
	target := u.endpoint("/v1/models", "limit=1000")
	if p.Type == config.TypeOpenAI {
		target = openai.ModelsURL(p.BaseURL) + "?limit=1000"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("provider %s: %w", p.Name, err)
	}
	req.Header.Set("Accept", "application/json")
	if p.Type == config.TypeAnthropic {
		req.Header.Set("Anthropic-Version", "2023-06-01")
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	setAuth(req.Header, p, key, http.Header{}, "")
	return req, newRedactor(providerSecrets(p)...), nil
}

// fetchModels sends the model list request with client and returns the
// model ids, sorted, and what the answer's headers said about limits.
func fetchModels(client *http.Client, req *http.Request, rd *redactor, p config.Provider) ([]string, quota.Info, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, quota.Info{}, fmt.Errorf("provider %s: listing models: %w", p.Name, err)
	}
	defer resp.Body.Close()
	info := quota.Parse(resp.Header, time.Now())
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMessage))
	if err != nil {
		return nil, info, fmt.Errorf("provider %s: reading the model list: %w", p.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		var msg string
		if p.Type == config.TypeOpenAI {
			msg = openai.ConvertError(resp.StatusCode, body).Message
		} else {
			_, msg, _ = anthropic.ParseError(body)
		}
		if msg == "" {
			msg = plainMessage(body)
		}
		return nil, info, &ModelsError{Status: resp.StatusCode, Message: shorten(rd.string(msg), 200)}
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, info, fmt.Errorf("provider %s: the model list is not JSON: %w", p.Name, err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return ids, info, nil
}

// ListModels asks a provider which models it offers (with its first key),
// through the provider's own outbound settings (proxy, connect timeout).
func ListModels(ctx context.Context, p config.Provider, set config.Settings) ([]string, error) {
	if p.AuthValue.IsPassthrough() {
		return nil, fmt.Errorf("provider %s: auth_value is passthrough: there is no key of its own to list models with", p.Name)
	}
	u, err := newUpstream(p, set, "")
	if err != nil {
		return nil, err
	}
	defer u.close()
	req, rd, err := modelsRequest(ctx, p, 0)
	if err != nil {
		return nil, err
	}
	ids, _, err := fetchModels(u.client, req, rd, p)
	if me := (*ModelsError)(nil); errors.As(err, &me) {
		err = fmt.Errorf("provider %s: listing models at %s: %w", p.Name, config.RedactURL(req.URL.String()), err)
	}
	return ids, err
}
