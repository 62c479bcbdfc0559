"""Writes the tenant API's OpenAPI document: python3 .ci/tenant-openapi.py tenant-app/src/portal/api/openapi.json

The document is JSON in the repository (compiled into the portal); this script is
where it is edited, so that the shared pieces (text patterns, ids, problem
answers) are written once.
"""
import json, sys

CTRL_OPT = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
CTRL_ALL = r"\u0000-\u001F\u007F-\u009F"
TEXT_OPT = "^[^" + CTRL_OPT + "]*$"
TEXT_REQ = "^[^" + CTRL_OPT + "]*[^\\s" + CTRL_ALL + "][^" + CTRL_OPT + "]*$"
ID = {"type": "string", "pattern": "^[0-9a-f]{32}$", "minLength": 32, "maxLength": 32,
      "description": "A resource id: 32 lowercase hex digits, ordered by creation time."}

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def opt_text(n, desc=None):
    s = {"type": "string", "maxLength": n, "pattern": TEXT_OPT}
    if desc: s["description"] = desc
    return s
def req_text(n, desc=None):
    s = {"type": "string", "minLength": 1, "maxLength": n, "pattern": TEXT_REQ}
    if desc: s["description"] = desc
    return s
def nullable(s):
    s = dict(s); t = s["type"]; s["type"] = [t, "null"]; return s
DATE = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10}

def problem(desc, headers=None):
    r = {"description": desc, "content": {"application/problem+json": {"schema": ref("Problem")}}}
    if headers: r["headers"] = headers
    return r

def json_response(desc, schema, headers=None):
    r = {"description": desc, "content": {"application/json": {"schema": schema}}}
    if headers: r["headers"] = headers
    return r

AUTH_HEADERS = {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}
RETRY = {"Retry-After": {"description": "Seconds until the key may send again.", "required": True,
                         "schema": {"type": "integer", "minimum": 1}}}
LOCATION = {"Location": {"description": "The new resource.", "required": True, "schema": {"type": "string"}}}

def common(write=False, body=False, lookup=False, query=False, multipart=False):
    r = {
        "401": problem("Missing, unknown or revoked key", AUTH_HEADERS),
        "403": problem("The plan has no API (Pay-per-Use), the portal is locked, a read key writes, or a plan limit is reached"),
        "429": problem("Rate limit of this key reached", RETRY),
    }
    if lookup: r["404"] = problem("No such resource")
    if query or body or lookup: r["422"] = problem("Invalid parameters or fields; `errors` maps each field to a message")
    if body:
        r["400"] = problem("Body is not valid JSON (or the Idempotency-Key header is malformed)")
        r["415"] = problem("Body is not JSON")
        r["409"] = problem("A conflict with stored data: a customer, household or Sparte the body names does not exist, or a request with the same Idempotency-Key is in progress")
        r["413"] = problem("Body too large")
    if multipart:
        r["400"] = problem("Body is not readable multipart/form-data (or the Idempotency-Key header is malformed)")
        r["409"] = problem("A request with the same Idempotency-Key is in progress")
        r["413"] = problem("Body or file too large")
        r["415"] = problem("Body is not multipart/form-data")
    if write and not body and not multipart:
        r["409"] = problem("A conflict with stored data")
    return r

IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "Makes the POST safe to retry: the same key with the same request within 24 hours returns the first answer (with `Idempotent-Replayed: true`) instead of doing it again; the same key with another request is refused with 422. Use a new random value (a UUID) per request.",
               "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}}
LIMIT = {"name": "limit", "in": "query", "required": False, "description": "Items per page, 1–100.",
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}}
CURSOR = {"name": "cursor", "in": "query", "required": False,
          "description": "The `next` of the previous page; omit for the first page.",
          "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$", "minLength": 32, "maxLength": 32}}
def path_id(what): return {"name": "id", "in": "path", "required": True, "description": f"The {what}'s id.", "schema": ID}
def q_id(name, desc): return {"name": name, "in": "query", "required": False, "description": desc, "schema": ID}

def op(op_id, summary, responses, params=None, body=None, tags=None, desc=None):
    o = {"operationId": op_id, "summary": summary, "security": [{"apiKey": []}], "responses": responses}
    if desc: o["description"] = desc
    if params: o["parameters"] = params
    if params and IDEMPOTENCY in params and "400" not in responses:
        responses["400"] = problem("The Idempotency-Key header is malformed")
    if body: o["requestBody"] = body
    if tags: o["tags"] = tags
    return o

def json_body(schema):
    return {"required": True, "content": {"application/json": {"schema": schema}}}

def page_of(item):
    return {"type": "object", "required": ["items", "next"], "additionalProperties": False, "properties": {
        "items": {"type": "array", "items": ref(item)},
        "next": {"type": ["string", "null"], "pattern": "^[0-9a-f]{32}$",
                 "description": "The cursor of the next page; null on the last page."}}}

TS = {"type": "string", "format": "date-time"}

schemas = {
  "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
      "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
      "detail": {"type": "string"},
      "errors": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Field name to message, for 422."}}},
  "Customer": {"type": "object", "additionalProperties": False,
      "required": ["id", "household_id", "first_name", "last_name", "email", "phone", "birth_date", "street", "postal_code", "city", "archived"],
      "properties": {
        "id": ID, "household_id": nullable(ID),
        "first_name": {"type": "string"}, "last_name": {"type": "string"},
        "email": {"type": ["string", "null"], "format": "email"},
        "phone": {"type": "string"}, "birth_date": {"type": ["string", "null"], "format": "date"},
        "street": {"type": "string"}, "postal_code": {"type": "string"}, "city": {"type": "string"},
        "archived": {"type": "boolean", "description": "Archived customers are no contacts (not billed, no portal access)."}}},
  "CustomerInput": {"type": "object", "additionalProperties": False, "required": ["first_name", "last_name"],
      "description": "Every field of a customer. On update (PUT) the whole customer is replaced: a field left out becomes empty.",
      "properties": {
        "first_name": req_text(100), "last_name": req_text(100),
        "email": {"type": ["string", "null"], "format": "email", "maxLength": 254,
                  "description": "Stored in lower case; required (and the user name) once the customer has portal access."},
        "phone": opt_text(50), "birth_date": {**DATE, "type": ["string", "null"]},
        "street": opt_text(200), "postal_code": opt_text(10), "city": opt_text(100),
        "household_id": {**nullable(ID), "description": "The household the customer belongs to, or null."}}},
  "CustomerPage": page_of("Customer"),
  "Household": {"type": "object", "additionalProperties": False, "required": ["id", "name", "member_ids"], "properties": {
      "id": ID, "name": {"type": "string"}, "member_ids": {"type": "array", "items": ID}}},
  "HouseholdInput": {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {"name": req_text(100)}},
  "HouseholdPage": page_of("Household"),
  "PaymentFrequency": {"type": "string", "enum": ["annual", "half_yearly", "quarterly", "monthly", "single"]},
  "ContractStatus": {"type": "string", "enum": ["active", "dormant", "cancelled"]},
  "Contract": {"type": "object", "additionalProperties": False,
      "required": ["id", "customer_id", "insurer", "insurer_number", "policy_number", "sparte_code", "sparte", "produkt",
                   "start_date", "end_date", "main_due_date", "payment_frequency", "premium_cents", "yearly_premium_cents", "status", "notes"],
      "properties": {
        "id": ID, "customer_id": ID, "insurer": {"type": "string"},
        "insurer_number": {"type": "string", "description": "The insurer's number (GDV VU-Nr), trimmed; empty when unknown."},
        "policy_number": {"type": "string"},
        "sparte_code": {"type": ["string", "null"], "pattern": "^[0-9]{3}$", "description": "The Sparte's GDV line code, e.g. \"030\"; null for a Sparte without one."},
        "sparte": {"type": "string", "description": "The Sparte's name in the broker's catalog."},
        "produkt": {"type": ["string", "null"]},
        "start_date": {"type": ["string", "null"], "format": "date"},
        "end_date": {"type": ["string", "null"], "format": "date"},
        "main_due_date": {"type": ["string", "null"], "format": "date"},
        "payment_frequency": ref("PaymentFrequency"),
        "premium_cents": {"type": "integer", "minimum": 0, "description": "The premium per payment, in euro cents."},
        "yearly_premium_cents": {"type": ["integer", "null"], "minimum": 0, "description": "The premium per year; null for a single premium."},
        "status": ref("ContractStatus"), "notes": {"type": "string"}}},
  "ContractInput": {"type": "object", "additionalProperties": False,
      "required": ["customer_id", "insurer", "policy_number", "start_date", "payment_frequency", "premium_cents"],
      "anyOf": [{"required": ["sparte_code"], "properties": {"sparte_code": {"type": "string"}}},
                {"required": ["sparte"], "properties": {"sparte": {"type": "string"}}}],
      "description": "Every field of a contract. The Sparte is named by `sparte_code` (GDV line code) or by `sparte` (its name in the catalog), or both when they agree; an unknown customer or Sparte, or a code and name of two Sparten: 409. A `produkt` the Sparte does not have yet is added to the catalog under it. `end_date` must not lie before `start_date`. On update (PUT) the whole contract is replaced; a new `customer_id` moves it (with its documents) to that customer.",
      "properties": {
        "customer_id": ID, "insurer": req_text(200),
        "insurer_number": opt_text(20, "The insurer's number (GDV VU-Nr)."),
        "policy_number": req_text(60),
        "sparte_code": {"type": ["string", "null"], "pattern": "^[0-9]{3}$", "minLength": 3, "maxLength": 3},
        "sparte": nullable(req_text(100)), "produkt": nullable(req_text(100)),
        "start_date": DATE, "end_date": {**DATE, "type": ["string", "null"]}, "main_due_date": {**DATE, "type": ["string", "null"]},
        "payment_frequency": ref("PaymentFrequency"),
        "premium_cents": {"type": "integer", "minimum": 0, "maximum": 10000000000, "description": "Per payment, in euro cents."},
        "status": {**ref("ContractStatus"), "default": "active"} if False else {"type": "string", "enum": ["active", "dormant", "cancelled"], "default": "active"},
        "notes": opt_text(5000)}},
  "ContractPage": page_of("Contract"),
  "Document": {"type": "object", "additionalProperties": False,
      "required": ["id", "customer_id", "contract_id", "message_id", "file_name", "content_type", "size_bytes", "visible_to_customer", "created_at"],
      "properties": {"id": ID, "customer_id": ID, "contract_id": nullable(ID),
        "message_id": {**nullable(ID), "description": "Set for a photo sent with a message."},
        "file_name": {"type": "string"},
        "content_type": {"type": "string", "enum": ["application/pdf", "image/jpeg", "image/png", "image/heic", "image/webp"],
                         "description": "Determined from the content, never from the name."},
        "size_bytes": {"type": "integer", "minimum": 1}, "visible_to_customer": {"type": "boolean"}, "created_at": TS}},
  "DocumentUpload": {"type": "object", "required": ["file"], "additionalProperties": False,
      "description": "The file must be a PDF or a photo (JPEG, PNG, HEIC, WebP), recognised by its content, and at most the portal's upload limit (20 MiB by default); anything else is refused with 422.",
      "properties": {"file": {"type": "string", "format": "binary"},
        "visible_to_customer": {"type": "boolean", "default": False, "description": "Whether the customer sees it in their folder."}}},
  "DocumentPage": page_of("Document"),
  "ThreadCategory": {"type": "string", "enum": ["bank_details", "contract_question", "claim", "missing_contract", "other"]},
  "ThreadStatus": {"type": "string", "enum": ["new", "in_progress", "done"]},
  "Thread": {"type": "object", "additionalProperties": False,
      "required": ["id", "customer_id", "customer_name", "category", "contract_id", "status", "updated_at"],
      "properties": {"id": ID, "customer_id": ID, "customer_name": {"type": "string"}, "category": ref("ThreadCategory"),
        "contract_id": nullable(ID), "status": ref("ThreadStatus"), "updated_at": TS}},
  "Message": {"type": "object", "additionalProperties": False,
      "required": ["id", "author", "author_name", "body", "created_at", "document_ids"],
      "properties": {"id": ID, "author": {"type": "string", "enum": ["broker", "customer"]}, "author_name": {"type": "string"},
        "body": {"type": "string"}, "created_at": TS, "document_ids": {"type": "array", "items": ID}}},
  "ThreadWithMessages": {"type": "object", "additionalProperties": False,
      "required": ["id", "customer_id", "customer_name", "category", "contract_id", "status", "updated_at", "messages"],
      "properties": {"id": ID, "customer_id": ID, "customer_name": {"type": "string"}, "category": ref("ThreadCategory"),
        "contract_id": nullable(ID), "status": ref("ThreadStatus"), "updated_at": TS,
        "messages": {"type": "array", "items": ref("Message")}}},
  "ThreadPage": page_of("Thread"),
  "ReplyInput": {"type": "object", "additionalProperties": False, "required": ["body"], "properties": {"body": req_text(5000)}},
  "StatusInput": {"type": "object", "additionalProperties": False, "required": ["status"], "properties": {"status": ref("ThreadStatus")}},
  "Produkt": {"type": "object", "additionalProperties": False, "required": ["id", "name", "description"],
      "properties": {"id": ID, "name": {"type": "string"}, "description": {"type": "string"}}},
  "Sparte": {"type": "object", "additionalProperties": False, "required": ["id", "gdv_code", "name", "description", "produkte"],
      "properties": {"id": ID, "gdv_code": {"type": ["string", "null"], "pattern": "^[0-9]{3}$"}, "name": {"type": "string"},
        "description": {"type": "string"}, "produkte": {"type": "array", "items": ref("Produkt")}}},
  "Catalog": {"type": "object", "additionalProperties": False, "required": ["sparten"],
      "properties": {"sparten": {"type": "array", "items": ref("Sparte")}}},
}

def ok(schema_name, desc="OK"): return json_response(desc, ref(schema_name))
def created(schema_name, desc="Created"): return json_response(desc, ref(schema_name), LOCATION)

paths = {}
C = ["customers"]; H = ["households"]; K = ["contracts"]; D = ["documents"]; T = ["messages"]; CAT = ["catalog"]
paths["/api/v1/customers"] = {
  "get": op("listCustomers", "Customers, in creation order", {"200": ok("CustomerPage"), **common(query=True)},
            params=[{"name": "q", "in": "query", "required": False, "description": "Searches names, e-mail addresses and policy numbers (case-insensitive, part of the text).",
                     "schema": opt_text(200)},
                    {"name": "archived", "in": "query", "required": False, "description": "List archived customers instead of active ones.",
                     "schema": {"type": "boolean", "default": False}}, LIMIT, CURSOR], tags=C),
  "post": op("createCustomer", "Create a customer", {"201": created("Customer"), **common(write=True, body=True, lookup=True)},
             params=[IDEMPOTENCY], body=json_body(ref("CustomerInput")), tags=C,
             desc="403 when the plan's contact limit is reached."),
}
paths["/api/v1/customers/{id}"] = {
  "get": op("getCustomer", "One customer", {"200": ok("Customer"), **common(lookup=True)}, params=[path_id("customer")], tags=C),
  "put": op("updateCustomer", "Replace a customer's data", {"200": ok("Customer"), **common(write=True, body=True, lookup=True)},
            params=[path_id("customer")], body=json_body(ref("CustomerInput")), tags=C),
}
paths["/api/v1/customers/{id}/archive"] = {
  "post": op("archiveCustomer", "Archive a customer (ends their portal access; no longer a contact)",
             {"200": ok("Customer"), **common(write=True, lookup=True)}, params=[path_id("customer"), IDEMPOTENCY], tags=C)}
paths["/api/v1/customers/{id}/restore"] = {
  "post": op("restoreCustomer", "Make an archived customer active again (403 at the plan's contact limit)",
             {"200": ok("Customer"), **common(write=True, lookup=True)}, params=[path_id("customer"), IDEMPOTENCY], tags=C)}
paths["/api/v1/households"] = {
  "get": op("listHouseholds", "Households, in creation order", {"200": ok("HouseholdPage"), **common(query=True)}, params=[LIMIT, CURSOR], tags=H),
  "post": op("createHousehold", "Create a household", {"201": created("Household"), **common(write=True, body=True)},
             params=[IDEMPOTENCY], body=json_body(ref("HouseholdInput")), tags=H,
             desc="Customers join it through their `household_id`."),
}
paths["/api/v1/households/{id}"] = {
  "get": op("getHousehold", "One household with its members", {"200": ok("Household"), **common(lookup=True)}, params=[path_id("household")], tags=H),
  "put": op("updateHousehold", "Rename a household", {"200": ok("Household"), **common(write=True, body=True, lookup=True)},
            params=[path_id("household")], body=json_body(ref("HouseholdInput")), tags=H),
  "delete": op("dissolveHousehold", "Dissolve a household; its members stay, in no household",
               {"204": {"description": "Dissolved"}, **common(write=True, lookup=True)}, params=[path_id("household")], tags=H),
}
paths["/api/v1/contracts"] = {
  "get": op("listContracts", "Contracts, in creation order", {"200": ok("ContractPage"), **common(query=True)},
            params=[q_id("customer_id", "Only this customer's contracts."),
                    {"name": "policy_number", "in": "query", "required": False, "description": "Only contracts with exactly this policy number.",
                     "schema": opt_text(60)}, LIMIT, CURSOR], tags=K),
  "post": op("createContract", "Create a contract", {"201": created("Contract"), **common(write=True, body=True, lookup=True)},
             params=[IDEMPOTENCY], body=json_body(ref("ContractInput")), tags=K),
}
paths["/api/v1/contracts/{id}"] = {
  "get": op("getContract", "One contract", {"200": ok("Contract"), **common(lookup=True)}, params=[path_id("contract")], tags=K),
  "put": op("updateContract", "Replace a contract", {"200": ok("Contract"), **common(write=True, body=True, lookup=True)},
            params=[path_id("contract")], body=json_body(ref("ContractInput")), tags=K),
  "delete": op("deleteContract", "Delete a contract; its documents stay with the customer",
               {"204": {"description": "Deleted"}, **common(write=True, lookup=True)}, params=[path_id("contract")], tags=K),
}
paths["/api/v1/documents"] = {
  "get": op("listDocuments", "Documents of customers and contracts, in upload order", {"200": ok("DocumentPage"), **common(query=True)},
            params=[q_id("customer_id", "Only this customer's documents."), q_id("contract_id", "Only this contract's documents."), LIMIT, CURSOR], tags=D),
}
UPLOAD_DESC = "403 when the plan's storage is used up. An `Idempotency-Key` header makes the upload safe to retry, as for every POST."
# No `encoding`: the part's declared type is not read; the content decides.
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": ref("DocumentUpload")}}}
paths["/api/v1/customers/{id}/documents"] = {
  "post": op("uploadCustomerDocument", "Upload a document to a customer", {"201": created("Document"), **common(write=True, multipart=True, lookup=True)},
             params=[path_id("customer")], tags=D, desc=UPLOAD_DESC, body=UPLOAD_BODY)}
paths["/api/v1/contracts/{id}/documents"] = {
  "post": op("uploadContractDocument", "Upload a document to a contract (and so to its customer)", {"201": created("Document"), **common(write=True, multipart=True, lookup=True)},
             params=[path_id("contract")], tags=D, desc=UPLOAD_DESC, body=UPLOAD_BODY)}
paths["/api/v1/documents/{id}"] = {
  "get": op("getDocument", "One document's details", {"200": ok("Document"), **common(lookup=True)}, params=[path_id("document")], tags=D)}
paths["/api/v1/documents/{id}/content"] = {
  "get": op("downloadDocument", "The document's file", {
      "200": {"description": "The file, as an attachment",
              "headers": {"Content-Disposition": {"required": True, "schema": {"type": "string"}}},
              "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in ["application/pdf", "image/jpeg", "image/png", "image/heic", "image/webp"]}},
      **common(lookup=True)}, params=[path_id("document")], tags=D)}
paths["/api/v1/threads"] = {
  "get": op("listThreads", "Message threads, in the order they were opened", {"200": ok("ThreadPage"), **common(query=True)},
            params=[{"name": "status", "in": "query", "required": False, "schema": ref("ThreadStatus")},
                    q_id("customer_id", "Only this customer's threads."), LIMIT, CURSOR], tags=T)}
paths["/api/v1/threads/{id}"] = {
  "get": op("getThread", "A thread with its messages", {"200": ok("ThreadWithMessages"), **common(lookup=True)}, params=[path_id("thread")], tags=T)}
paths["/api/v1/threads/{id}/messages"] = {
  "post": op("replyToThread", "Reply as the broker; the customer is told by e-mail",
             {"201": created("Message"), **common(write=True, body=True, lookup=True)},
             params=[path_id("thread"), IDEMPOTENCY], body=json_body(ref("ReplyInput")), tags=T)}
paths["/api/v1/threads/{id}/status"] = {
  "put": op("setThreadStatus", "Set a thread's status", {"200": ok("Thread"), **common(write=True, body=True, lookup=True)},
            params=[path_id("thread")], body=json_body(ref("StatusInput")), tags=T)}
paths["/api/v1/catalog"] = {
  "get": op("getCatalog", "The catalog: Sparten in the broker's order with their Produkte", {"200": ok("Catalog"), **common()}, tags=CAT)}
paths["/api/v1/openapi.json"] = {
  "get": {"operationId": "openapi", "summary": "This document", "security": [],
          "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}}}}

def link(response, target_ids, expression="$response.body#/id"):
    response["links"] = {op_id: {"operationId": op_id, "parameters": {"id": expression}} for op_id in target_ids}

link(paths["/api/v1/customers"]["post"]["responses"]["201"],
     ["getCustomer", "updateCustomer", "archiveCustomer", "restoreCustomer", "uploadCustomerDocument"])
link(paths["/api/v1/contracts"]["post"]["responses"]["201"],
     ["getContract", "updateContract", "deleteContract", "uploadContractDocument"])
link(paths["/api/v1/households"]["post"]["responses"]["201"], ["getHousehold", "updateHousehold", "dissolveHousehold"])
for upload in ["/api/v1/customers/{id}/documents", "/api/v1/contracts/{id}/documents"]:
    link(paths[upload]["post"]["responses"]["201"], ["getDocument", "downloadDocument"])
link(paths["/api/v1/threads"]["get"]["responses"]["200"], ["getThread", "replyToThread", "setThreadStatus"], "$response.body#/items/0/id")
link(paths["/api/v1/contracts"]["get"]["responses"]["200"], ["getContract", "updateContract"], "$response.body#/items/0/id")
link(paths["/api/v1/customers"]["get"]["responses"]["200"], ["getCustomer", "updateCustomer"], "$response.body#/items/0/id")

doc = {
  "openapi": "3.1.0",
  "info": {"title": "Ordo tenant API", "version": "1.0.0",
           "description": "The REST API of one broker's portal, served on the portal's own host under /api/v1 (docs/integrations.md, \"The tenant API\"). Authenticate with an API key from /makler/schnittstellen as `Authorization: Bearer <key>`. Lists take `limit` and `cursor` and answer `{\"items\": [...], \"next\": cursor-or-null}`. Every error is an RFC 9457 problem body. Included in the trial, PREMIUMstarter and PREMIUM."},
  "servers": [{"url": "http://muster-makler.localhost:8080", "description": "a portal of the embedded default; each portal serves this API on its own host"}],
  "tags": [{"name": t} for t in ["customers", "households", "contracts", "documents", "messages", "catalog"]],
  "paths": paths,
  "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
       "description": "An API key of this portal (`ordo_tk_…`), made by the broker under /makler/schnittstellen (scope read or write) or by the operator."}},
     "schemas": schemas},
}
json.dump(doc, open(sys.argv[1], "w"), indent=2, ensure_ascii=False)
open(sys.argv[1], "a").write("\n")
