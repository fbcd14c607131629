// Imported first by the benches: activities and the API log every unit at info level, which would
// bury the figures; warnings and errors still show. LOG_LEVEL set by the caller wins.
process.env.LOG_LEVEL ??= 'warn';
