package api

// UnresolvedSchemaDocs lists the entries of schemaDocs and schemaEnums that name a schema the
// server's document lacks.
func UnresolvedSchemaDocs(s *Server) ([]string, error) {
	_, b, err := buildOpenAPIDoc(s.ops, "test")
	if err != nil {
		return nil, err
	}
	return b.unresolved, nil
}
