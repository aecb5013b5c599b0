// Package leak answers reports of leaked keys, so that a key found where it
// should not be stops working on every instance within the change feed's
// latency (about a millisecond with memstore, well under a second with
// sqlstore's feed).
//
// NewGitHub handles GitHub's secret scanning partner program: GitHub finds
// keys of the Service's KeyPattern in public repositories, gists, issues
// and npm packages and posts them, signed with ECDSA P-256, to the
// handler, which verifies the signature against a configured key set
// (nothing is fetched at run time), revokes or disables the token of every
// key it knows (Service.RevokeLeaked, with an audit event naming where
// the key was found), and answers with GitHub's feedback format, labelling
// each key a true or false positive.
//
// NewRevoke handles a public "revoke this key" form for anyone who finds a
// key: it answers every report alike, whether or not the key was issued
// here, limits reports per client, and revokes in the background.
//
// Neither logs, echoes or returns a key: the answer to GitHub names keys by
// their SHA-256, which GitHub's feedback format accepts in place of the
// key (GitHubConfig.RawToken sends the key back instead).
package leak
