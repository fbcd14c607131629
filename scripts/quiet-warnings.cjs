// The AWS SDK warns on every process start that its 2027 releases will need Node 22. The lock
// file pins a release that supports Node 20, so the notice is noise in CLI output and tests.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  if (String(warning).includes('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};
