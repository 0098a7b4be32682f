package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"bursar.dev/bursar/internal/bursar"
)

// decode reads a JSON object body into v, refusing unknown fields, trailing
// data and wrong types with a message that names the field.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return bursar.Errorf(bursar.Invalid, "The request needs a JSON object body.")
		}
		return bodyError(err)
	}
	// Not dec.More, which is false before a stray '}' or ']'.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bursar.Errorf(bursar.Invalid, "The body holds more than one JSON value.")
	}
	// null would decode into v as no fields at all.
	if raw[0] != '{' {
		return bursar.Errorf(bursar.Invalid, "The request needs a JSON object body.")
	}
	obj := json.NewDecoder(bytes.NewReader(raw))
	obj.DisallowUnknownFields()
	if err := obj.Decode(v); err != nil {
		return bodyError(err)
	}
	return nil
}

// bodyError explains why a body could not be read or decoded.
func bodyError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	var be *bursar.Error
	switch {
	case errors.As(err, &be):
		return err
	case errors.As(err, &tooBig):
		return bursar.Errorf(bursar.Invalid, "The body is larger than %d bytes.", tooBig.Limit)
	case errors.As(err, &syntax):
		return bursar.Errorf(bursar.Invalid, "The body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.As(err, &typ):
		return bursar.InvalidParam(typ.Field, "The field %q must be a JSON %s.", typ.Field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		field, uerr := strconv.Unquote(quoted) // Go quotes it: "\x7f" for a DEL
		if uerr != nil {
			field = strings.Trim(quoted, `"`)
		}
		return bursar.InvalidParam(field, "The field %q is not known here.", field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bursar.Errorf(bursar.Invalid, "The body ends in the middle of a JSON value.")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return bursar.Errorf(bursar.Invalid, "The body did not arrive in time.")
	case errors.As(err, new(*net.OpError)):
		return bursar.Errorf(bursar.Invalid, "The body could not be read.") // the text names our addresses
	}
	return bursar.Errorf(bursar.Invalid, "The body could not be read: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "integer"
	case goKind == "string":
		return "string"
	case goKind == "bool":
		return "boolean"
	case goKind == "map", goKind == "struct":
		return "object"
	}
	return goKind
}

// queryLimit reads a list's optional limit query parameter; the service
// checks its range.
func queryLimit(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, bursar.InvalidParam("limit", "The parameter \"limit\" must be an integer.")
	}
	return n, nil
}
