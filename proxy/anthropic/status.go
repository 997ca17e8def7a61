package anthropic

import "net/http"

// StatusForErrorType is the HTTP status the Messages API answers with an
// error of the given type (the inverse of ErrorTypeForStatus, as listed in
// the API's "Errors" page); 500 for a type it does not define.
func StatusForErrorType(errType string) int {
	switch errType {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrAuthentication:
		return http.StatusUnauthorized
	case ErrBilling:
		return http.StatusPaymentRequired
	case ErrPermission:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrRateLimit:
		return http.StatusTooManyRequests
	case ErrTimeout:
		return http.StatusGatewayTimeout
	case ErrOverloaded:
		return 529
	}
	return http.StatusInternalServerError
}
