// Plain JavaScript, so it runs on any Node: the project needs Node 24 (node:sqlite, the
// Lambda runtime's major). Says so in one line, with the fix, instead of a stack trace.
const REQUIRED_MAJOR = 24;

export function requireSupportedNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= REQUIRED_MAJOR) return;
  process.stderr.write(
    `webhook-ingress: needs Node.js ${REQUIRED_MAJOR} or newer, but this is Node ${process.versions.node} (${process.execPath}) ` +
      `(npm install puts Node ${REQUIRED_MAJOR} in node_modules/.bin for npm run and npx; after an install with scripts disabled, run: npm rebuild node)\n`,
  );
  process.exit(1);
}
