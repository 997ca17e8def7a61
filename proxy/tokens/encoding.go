// Package tokens counts the input tokens of an Anthropic Messages request
// locally, for POST /v1/messages/count_tokens. It never calls a provider: the
// answer is an estimate from a BPE tokenizer shipped inside the binary.
package tokens

import (
	"fmt"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// encodingName is the BPE used for estimates. Claude's own tokenizer is not
// public; it splits text into somewhat more tokens than cl100k_base does,
// and o200k_base, with its larger vocabulary, into fewer still. cl100k_base
// is therefore the closer of the two shipped offline, and it also loads in
// about half the time.
const encodingName = tiktoken.MODEL_CL100K_BASE

// encoding loads the BPE ranks once, on first use, from the tables embedded
// by tiktoken-go-loader, so counting never touches the network. Loading
// takes a noticeable fraction of a second; Warm lets a caller pay it early.
var encoding = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding(encodingName)
	if err != nil {
		return nil, fmt.Errorf("loading the %s token encoding: %w", encodingName, err)
	}
	return enc, nil
})

// Warm loads the encoding now rather than on the first Count, so the first
// count_tokens request is not the slow one. It is safe to call from any
// goroutine, any number of times.
func Warm() error {
	_, err := encoding()
	return err
}
