package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

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
// The length, depth and selections bound the query; the cost and the
// response cap bound what it asks for, which aliases and lists multiply
// (see queryCost).
const (
	maxQueryLength = 16 << 10
	maxQueryDepth  = 8
	// maxQueryCost bounds the values a query may ask for, each field
	// counted once per element of the lists around it, lists at their
	// longest (maxPageSize articles): the article list with its six
	// fields costs 601. It also bounds the selections the library
	// expands fragments to.
	maxQueryCost = 10_000
	// maxResponseBytes caps a response. One that would be larger is
	// refused whole (RESPONSE_TOO_LARGE): before it runs when its keys
	// alone would pass the cap, else as soon as the values it resolves do.
	maxResponseBytes = 2 << 20
	// maxConcurrentQueries bounds the queries that run at once, and so the
	// memory their responses hold; the others wait up to queryWait, then
	// get 503.
	maxConcurrentQueries = 2
	queryWait            = 5 * time.Second
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

// articleResolver resolves an article's fields, each charged to the
// request's response budget.
type articleResolver struct {
	d document
	b *responseBudget
	// paid has bit i set while the list that holds the article has paid
	// for one value of articleFields[i] (see resolver.Articles).
	paid atomic.Uint32
}

// articleFields are the fields of Article, in the order of their bits in
// articleResolver.paid.
var articleFields = [...]string{"documentId", "title", "body", "createdAt", "updatedAt", "publishedAt"}

func (a *articleResolver) value(i int) string {
	switch articleFields[i] {
	case "documentId":
		return a.d.DocumentID
	case "title", "body":
		return a.d.Attrs[articleFields[i]]
	case "createdAt":
		return a.d.CreatedAt.Format(jsTime)
	case "updatedAt":
		return a.d.UpdatedAt.Format(jsTime)
	default:
		return a.d.PublishedAt.Format(jsTime)
	}
}

// field returns the value of articleFields[i], charged to the budget unless
// already paid for.
func (a *articleResolver) field(i int) string {
	s, bit := a.value(i), uint32(1)<<i
	if a.paid.And(^bit)&bit != 0 {
		return s
	}
	return a.b.charge(s)
}

func (a *articleResolver) DocumentID() graphql.ID { return graphql.ID(a.field(0)) }
func (a *articleResolver) Title() string          { return a.field(1) }
func (a *articleResolver) Body() string           { return a.field(2) }
func (a *articleResolver) CreatedAt() string      { return a.field(3) }
func (a *articleResolver) UpdatedAt() string      { return a.field(4) }
func (a *articleResolver) PublishedAt() *string {
	s := a.field(5)
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

// Articles pays for the fields it knows the query selects before returning
// the list, so that a list too large for the response's budget is refused
// before the library writes any of it: aliases of the list resolve in
// parallel, and each would otherwise be written until the budget ran out.
func (r *resolver) Articles(ctx context.Context) (*[]*articleResolver, error) {
	if err := r.can(ctx, "find"); err != nil {
		return nil, err
	}
	b := budgetFrom(ctx)
	if b.spent() {
		return &[]*articleResolver{}, nil // the response is refused
	}
	var selected uint32
	for i, f := range articleFields {
		if graphql.HasSelectedField(ctx, f) {
			selected |= 1 << i
		}
	}
	docs, _ := r.articles.list(1, maxPageSize)
	out := make([]*articleResolver, len(docs))
	var due int64
	for i, d := range docs {
		a := &articleResolver{d: d, b: b}
		a.paid.Store(selected)
		for f := range articleFields {
			if selected&(1<<f) != 0 {
				due += jsonSize(a.value(f))
			}
		}
		out[i] = a
	}
	if !b.take(due) {
		return &[]*articleResolver{}, nil
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
	return &articleResolver{d: d, b: budgetFrom(ctx)}, nil
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
	return &articleResolver{d: d, b: budgetFrom(ctx)}, nil
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
	d, ok, err := r.articles.update(string(args.DocumentID), attrs)
	if !ok {
		return nil, notFound()
	}
	if err != nil {
		return nil, badInput(err)
	}
	return &articleResolver{d: d, b: budgetFrom(ctx)}, nil
}

type deleteResponse struct{ id graphql.ID }

func (d deleteResponse) DocumentID() graphql.ID { return d.id }

func (r *resolver) DeleteArticle(ctx context.Context, args struct{ DocumentID graphql.ID }) (*deleteResponse, error) {
	if err := r.can(ctx, "delete"); err != nil {
		return nil, err
	}
	r.articles.remove(string(args.DocumentID))
	// The answer echoes the ID it was given, which may be as long as the
	// body allows: it is charged like any value read from the store.
	return &deleteResponse{graphql.ID(budgetFrom(ctx).charge(string(args.DocumentID)))}, nil
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
		graphql.MaxSelections(maxQueryCost),
		graphql.MaxParallelism(4),
		graphql.OverlapValidationLimit(libraryOverlapPairs),
	)
	if err != nil {
		return nil, err
	}
	model := newCostModel(schema)
	a := newAdmission()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeGraphQLError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", "BAD_REQUEST")
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
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, "request entity too large", "BAD_REQUEST")
				return
			}
			writeGraphQLError(w, http.StatusBadRequest, "the body must be a JSON object with a query", "BAD_REQUEST")
			return
		}
		if req.Query == "" {
			writeGraphQLError(w, http.StatusBadRequest, "the body must be a JSON object with a query", "BAD_REQUEST")
			return
		}
		// GraphQL over HTTP answers a query it refuses with 200.
		if len(req.Query) > maxQueryLength {
			writeGraphQLError(w, http.StatusOK, fmt.Sprintf("query length %d exceeds the maximum allowed query length of %d bytes", len(req.Query), maxQueryLength), "GRAPHQL_VALIDATION_FAILED")
			return
		}
		cost, err := model.cost(req.Query)
		switch {
		case err != nil:
			writeGraphQLError(w, http.StatusOK, err.Error(), "GRAPHQL_PARSE_FAILED")
			return
		case cost.values > maxQueryCost:
			writeGraphQLError(w, http.StatusOK, fmt.Sprintf("query cost %d exceeds the limit of %d: each field counts once per article "+
				"of each list around it (lists count at their longest, %d) and once per alias; ask for fewer", cost.values, maxQueryCost, maxPageSize), "GRAPHQL_VALIDATION_FAILED")
			return
		case cost.pairs > maxOverlapPairs:
			writeGraphQLError(w, http.StatusOK, fmt.Sprintf("the query's selection sets compare %d pairs of fields and fragments "+
				"in validation, past the limit of %d: spread fewer fragments side by side, or repeat fewer fields", cost.pairs, maxOverlapPairs), "GRAPHQL_VALIDATION_FAILED")
			return
		case cost.bytes > maxResponseBytes:
			writeGraphQLError(w, http.StatusOK, fmt.Sprintf("the keys of the response alone could exceed the limit of %d bytes: use shorter aliases or fewer fields", maxResponseBytes), "GRAPHQL_VALIDATION_FAILED")
			return
		}
		// The answer's memory is reserved, at its largest, before the query
		// runs, and held until it is written; the slot only while it runs,
		// so that clients slow to read their answers hold memory, bounded,
		// and not the queries of everyone else.
		leave, ok := a.enter(clientAddr(r))
		if !ok {
			w.Header().Set("Retry-After", "1")
			writeGraphQLError(w, http.StatusServiceUnavailable, fmt.Sprintf("more than %d GraphQL queries at once from one client: try again", maxQueriesPerClient), "SERVICE_UNAVAILABLE")
			return
		}
		defer leave()
		deadline := time.Now().Add(queryWait)
		wctx, cancel := context.WithDeadline(r.Context(), deadline)
		err = a.answers.Acquire(wctx, maxResponseBytes)
		cancel()
		if err != nil {
			if r.Context().Err() == nil {
				w.Header().Set("Retry-After", "1")
				writeGraphQLError(w, http.StatusServiceUnavailable, "too many GraphQL answers being written: try again", "SERVICE_UNAVAILABLE")
			}
			return
		}
		held := int64(maxResponseBytes)
		defer func() { a.answers.Release(held) }()
		wait := time.NewTimer(time.Until(deadline))
		select {
		case a.slots <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			w.Header().Set("Retry-After", "1")
			writeGraphQLError(w, http.StatusServiceUnavailable, "too many GraphQL queries at once: try again", "SERVICE_UNAVAILABLE")
			return
		case <-r.Context().Done():
			wait.Stop()
			return
		}
		budget := new(responseBudget)
		budget.left.Store(maxResponseBytes - cost.bytes)
		resp := schema.Exec(context.WithValue(r.Context(), budgetKey{}, budget), req.Query, req.OperationName, req.Variables)
		<-a.slots
		if !budget.spent() {
			if size := responseSize(resp); size <= held {
				a.answers.Release(held - size)
				held = size
			}
			// A client gets answerWriteTimeout to read its answer, not
			// the server's WriteTimeout. (A recorder cannot set one.)
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerWriteTimeout))
		}
		if budget.spent() || !writeResponse(w, resp) {
			resp = nil // let it go before the refusal is written
			writeGraphQLError(w, http.StatusOK, fmt.Sprintf("the response would exceed the limit of %d bytes: ask for fewer fields, "+
				"or page through the REST API", maxResponseBytes), "RESPONSE_TOO_LARGE")
			return
		}
	}), nil
}

// responseSize returns the size of resp as writeResponse writes it.
func responseSize(resp *graphql.Response) int64 {
	n := int64(len(resp.Data)) + 2
	if len(resp.Errors) > 0 {
		errs, _ := json.Marshal(resp.Errors)
		n += int64(len(errs) + len(`"errors":,`))
	}
	if resp.Data != nil {
		n += int64(len(`"data":`))
	}
	return n
}

// writeResponse writes resp as json.Marshal would, but without a copy of
// its data, which the library has encoded already: a response near the cap
// would otherwise be held three times over. It writes nothing and returns
// false when the response would be larger than maxResponseBytes: the
// budget charges the values the resolvers return, and this bounds what it
// does not see, such as introspection's descriptions (whose memory the
// cost bounds: 10,000 values of the schema's longest string, 560 bytes).
func writeResponse(w http.ResponseWriter, resp *graphql.Response) bool {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			writeGraphQLError(w, http.StatusInternalServerError, "Internal Server Error", "INTERNAL_SERVER_ERROR")
			return true
		}
		b.WriteString(`"errors":`)
		b.Write(errs)
	}
	if resp.Data != nil {
		if len(resp.Errors) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"data":`)
	}
	size := b.Len() + len(resp.Data) + 1
	if size > maxResponseBytes {
		return false
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
	w.Write(resp.Data)
	w.Write([]byte{'}'})
	return true
}

// newCostModel returns the cost model of schema: the article list has at
// most maxPageSize elements; introspection's lists are as long as the
// schema makes them.
func newCostModel(schema *graphql.Schema) *costModel {
	s := schema.AST()
	intro := introspectionListLen(s)
	return &costModel{schema: s, listLen: func(typeName, _ string) int64 {
		if strings.HasPrefix(typeName, "__") {
			return intro
		}
		return maxPageSize
	}}
}

// writeGraphQLError writes a GraphQL error response, with Apollo's
// extensions.code, as Strapi's GraphQL plugin answers.
func writeGraphQLError(w http.ResponseWriter, status int, msg, code string) {
	type gqlErr struct {
		Message    string            `json:"message"`
		Extensions map[string]string `json:"extensions"`
	}
	writeJSON(w, status, map[string]any{"errors": []gqlErr{{msg, map[string]string{"code": code}}}})
}
