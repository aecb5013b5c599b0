package sqlstore

// GetByHashQuery exposes the hot-path query to the external tests, which
// check its plan.
func (s *Store) GetByHashQuery() string { return s.q.getByHash }
