#!/usr/bin/env node
// Lints Cypher statements with Neo4j's own parser and semantic analysis
// (@neo4j-cypher/language-support), for pactmatch's tests: no Neo4j server runs on the build
// machines, so this is what checks the statements only Neo4j would see.
//
// Protocol: one JSON object per line on stdin,
//   {"id": any, "query": "...", "parameters": {"name": value, ...},
//    "labels": ["..."], "relationshipTypes": ["..."],           (labels/types optional)
//    "declareUsed": false}    (true: declare the parameters the statement uses, not "parameters")
// and one JSON object per line on stdout, in the same order,
//   {"id": any, "parameters": ["names", "the", "statement", "uses"],
//    "diagnostics": [{"severity": "error"|"warning"|"information"|"hint",
//     "message": "...", "line": 1, "column": 1, "offset": 0, "deprecated": false}, ...]}
// or {"id": any, "fatal": "..."} for a request it could not read. One process serves many
// statements, so a test session pays Node's and the parser's start-up once.
//
// Every statement is linted as Cypher 5: the store targets Neo4j 5.x, whose only language is
// Cypher 5 (Cypher 25 exists from Neo4j 2025.06 on, and there too a statement without a
// `CYPHER 25` prefix runs as Cypher 5 unless the database's default language was changed).
// A parameter the request does not name is an error ("Parameter $x is not defined."); the
// values are not looked at (the semantic analysis does not type parameters), only the names.
// Functions and procedures are checked against the registry of a real Neo4j that the package
// ships (testData.mockSchema): existence, argument count and YIELD columns.
import { createInterface } from 'node:readline';
import { lintCypherQuery, parseParameters, testData } from '@neo4j-cypher/language-support';

const CYPHER_VERSION = 'CYPHER 5';
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const DEPRECATED_TAG = 2; // vscode-languageserver-types DiagnosticTag.Deprecated

function lint(query, parameters, labels, relationshipTypes) {
  const schema = {
    functions: testData.mockSchema.functions,
    procedures: testData.mockSchema.procedures,
    parameters,
    defaultLanguage: CYPHER_VERSION,
  };
  // Label warnings are given only when both lists are known (the package's own rule).
  if (labels && relationshipTypes) {
    schema.labels = labels;
    schema.relationshipTypes = relationshipTypes;
  }
  return lintCypherQuery(query, schema, { consoleCommandsEnabled: false }).diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] ?? String(d.severity),
    message: d.message,
    line: d.range.start.line + 1,
    column: d.range.start.character + 1,
    offset: d.offsets.start,
    deprecated: (d.tags ?? []).includes(DEPRECATED_TAG),
  }));
}

// The semantic analysis swallows its own exceptions and then reports nothing, so a broken
// install (or a Node version it cannot run on) would pass every statement. Refuse to start
// unless it finds the errors it must find.
function selfCheck() {
  const expectations = [
    ['MATCH (n) RETURN m', {}, /Variable `m` not defined/],
    ['RETURN $x AS x', {}, /Parameter \$x is not defined/],
    ['CALL db.index.vector.queryNodes($i, $k) YIELD node RETURN node', { i: 1, k: 1 }, /argument/i],
    ['MATCH (n) RETRN n', {}, /./],
  ];
  for (const [query, parameters, pattern] of expectations) {
    const errors = lint(query, parameters).filter((d) => d.severity === 'error');
    if (!errors.some((d) => pattern.test(d.message))) {
      throw new Error(
        `self-check failed: ${JSON.stringify(query)} gave ${JSON.stringify(errors)}, expected ${pattern}`,
      );
    }
  }
  if (lint('RETURN $x AS x', { x: null }).length !== 0) {
    throw new Error('self-check failed: a declared parameter was reported');
  }
}

try {
  selfCheck();
} catch (error) {
  process.stderr.write(`cypher-lint: ${error.message}\n`);
  process.exit(2);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let reply;
  let id = null;
  try {
    const request = JSON.parse(line);
    id = request.id ?? null;
    if (typeof request.query !== 'string') throw new Error('"query" must be a string');
    const used = [...new Set(parseParameters(request.query, false))];
    // "declareUsed": declare what the statement uses (syntax and semantics checked, not names).
    const parameters = request.declareUsed ? Object.fromEntries(used.map((n) => [n, null])) : request.parameters ?? {};
    if (typeof parameters !== 'object' || Array.isArray(parameters)) {
      throw new Error('"parameters" must be an object of name -> value');
    }
    reply = {
      id,
      parameters: used,
      diagnostics: lint(request.query, parameters, request.labels, request.relationshipTypes),
    };
  } catch (error) {
    reply = { id, fatal: String(error?.message ?? error) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
