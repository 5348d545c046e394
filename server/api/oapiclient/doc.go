// Package oapiclient is the proof that the OpenAPI document (admin-web/openapi.json) is
// usable by a client generator nobody here wrote: oapi-codegen generates client.gen.go from
// it (not committed, 47k lines), and the test, built only with -tags oapiclient, drives a real
// server through that client. .ci/run does both:
//
//	go generate ./server/api/oapiclient
//	go test -tags oapiclient ./server/api/oapiclient
package oapiclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../../admin-web/openapi.json
