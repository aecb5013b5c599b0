// The kind of token this page manages, as the server drew it: content-API
// tokens (Settings > API Tokens) or admin tokens (Settings > Admin Tokens).
// The same views serve both; this says where their API is, which
// permissions guard it, and how to name a token.

const admin = document.documentElement.dataset.kind === 'admin';

export const kind = admin ? {
  admin: true,
  path: 'admin-tokens', // of the admin API, relative to the handler
  perm: 'admin::admin-tokens.', // the prefix of its admin permissions
  one: 'Admin Token', // as a title: "Create Admin Token"
  noun: 'admin token', // in a sentence
  many: 'Admin tokens', // at the start of one
} : {
  admin: false,
  path: 'api-tokens',
  perm: 'admin::api-tokens.',
  one: 'API Token',
  noun: 'API token',
  many: 'API tokens',
};
