package main

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/graph-gophers/graphql-go"

	"github.com/go-apitoken/apitoken"
)

// The GraphQL API authorizes each field as Strapi does: a query of the
// collection is find, of one document findOne, and the mutations create,
// update and delete. The HTTP request is only authenticated
// (Service.Authenticated); each resolver asks apitoken.Can.

const articleSchema = `
schema { query: Query  mutation: Mutation }

type Article {
  documentId: ID!
  title: String!
  body: String!
  createdAt: String!
  updatedAt: String!
  publishedAt: String
}

input ArticleInput { title: String  body: String }

type DeleteMutationResponse { documentId: ID! }

type Query {
  articles: [Article!]
  article(documentId: ID!): Article
}

type Mutation {
  createArticle(data: ArticleInput!): Article
  updateArticle(documentId: ID!, data: ArticleInput!): Article
  deleteArticle(documentId: ID!): DeleteMutationResponse
}
`

// Limits on GraphQL requests, so that one request cannot take the server.
const (
	maxQueryLength = 16 << 10
	maxQueryDepth  = 8
)

// gqlError is a GraphQL error with Strapi's extensions.code.
type gqlError struct{ msg, code string }

func (e *gqlError) Error() string              { return e.msg }
func (e *gqlError) Extensions() map[string]any { return map[string]any{"code": e.code} }
func forbidden() error                         { return &gqlError{"Forbidden access", "FORBIDDEN"} }
func badInput(err error) error                 { return &gqlError{err.Error(), "BAD_USER_INPUT"} }
func notFound() error                          { return &gqlError{"Not Found", "NOT_FOUND"} }
func (r *resolver) can(ctx context.Context, action string) error {
	if err := apitoken.Can(ctx, r.uid+"."+action); err != nil {
		return forbidden()
	}
	return nil
}

type resolver struct {
	uid      string
	articles *collection
}

type articleResolver struct{ d document }

func (a articleResolver) DocumentID() graphql.ID { return graphql.ID(a.d.DocumentID) }
func (a articleResolver) Title() string          { return a.d.Attrs["title"] }
func (a articleResolver) Body() string           { return a.d.Attrs["body"] }
func (a articleResolver) CreatedAt() string      { return a.d.CreatedAt.Format(jsTime) }
func (a articleResolver) UpdatedAt() string      { return a.d.UpdatedAt.Format(jsTime) }
func (a articleResolver) PublishedAt() *string {
	s := a.d.PublishedAt.Format(jsTime)
	return &s
}

type articleInput struct {
	Title *string
	Body  *string
}

// attrs checks the input with the REST API's rules.
func (r *resolver) attrs(in articleInput, create bool) (map[string]string, error) {
	data := map[string]json.RawMessage{}
	for name, v := range map[string]*string{"title": in.Title, "body": in.Body} {
		if v != nil {
			data[name], _ = json.Marshal(*v)
		}
	}
	attrs, err := r.articles.validate(data, create)
	if err != nil {
		return nil, badInput(err)
	}
	return attrs, nil
}

func (r *resolver) Articles(ctx context.Context) (*[]articleResolver, error) {
	if err := r.can(ctx, "find"); err != nil {
		return nil, err
	}
	docs, _ := r.articles.list(1, maxPageSize)
	out := make([]articleResolver, len(docs))
	for i, d := range docs {
		out[i] = articleResolver{d}
	}
	return &out, nil
}

func (r *resolver) Article(ctx context.Context, args struct{ DocumentID graphql.ID }) (*articleResolver, error) {
	if err := r.can(ctx, "findOne"); err != nil {
		return nil, err
	}
	d, ok := r.articles.get(string(args.DocumentID))
	if !ok {
		return nil, nil
	}
	return &articleResolver{d}, nil
}

func (r *resolver) CreateArticle(ctx context.Context, args struct{ Data articleInput }) (*articleResolver, error) {
	if err := r.can(ctx, "create"); err != nil {
		return nil, err
	}
	attrs, err := r.attrs(args.Data, true)
	if err != nil {
		return nil, err
	}
	d, err := r.articles.create(attrs)
	if err != nil {
		return nil, badInput(err)
	}
	return &articleResolver{d}, nil
}

func (r *resolver) UpdateArticle(ctx context.Context, args struct {
	DocumentID graphql.ID
	Data       articleInput
}) (*articleResolver, error) {
	if err := r.can(ctx, "update"); err != nil {
		return nil, err
	}
	attrs, err := r.attrs(args.Data, false)
	if err != nil {
		return nil, err
	}
	d, ok := r.articles.update(string(args.DocumentID), attrs)
	if !ok {
		return nil, notFound()
	}
	return &articleResolver{d}, nil
}

type deleteResponse struct{ id graphql.ID }

func (d deleteResponse) DocumentID() graphql.ID { return d.id }

func (r *resolver) DeleteArticle(ctx context.Context, args struct{ DocumentID graphql.ID }) (*deleteResponse, error) {
	if err := r.can(ctx, "delete"); err != nil {
		return nil, err
	}
	r.articles.remove(string(args.DocumentID))
	return &deleteResponse{args.DocumentID}, nil
}

// graphqlHandler serves POST /graphql with application/json bodies of the
// form {"query", "operationName", "variables"}. Authenticate it with
// Service.Authenticated.
func graphqlHandler(svc *apitoken.Service, uid string, articles *collection) (http.Handler, error) {
	for _, a := range []string{"find", "findOne", "create", "update", "delete"} {
		svc.Actions().Register(uid + "." + a)
	}
	schema, err := graphql.ParseSchema(articleSchema, &resolver{uid: uid, articles: articles},
		graphql.MaxQueryLength(maxQueryLength),
		graphql.MaxDepth(maxQueryDepth),
		graphql.MaxParallelism(4),
	)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeGraphQLError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
			return
		}
		var req struct {
			Query         string         `json:"query"`
			OperationName string         `json:"operationName"`
			Variables     map[string]any `json:"variables"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, "request entity too large")
				return
			}
			writeGraphQLError(w, http.StatusBadRequest, "the body must be a JSON object with a query")
			return
		}
		if req.Query == "" {
			writeGraphQLError(w, http.StatusBadRequest, "the body must be a JSON object with a query")
			return
		}
		writeJSON(w, http.StatusOK, schema.Exec(r.Context(), req.Query, req.OperationName, req.Variables))
	}), nil
}

func writeGraphQLError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"message": msg}}})
}
