import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import MarkdownIt from 'markdown-it';
import { ROOT } from '../../harness/env';

/** Every relative link in the project's Markdown leads to a file, and its #anchor to a heading. */

const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'cdk.out', 'test-results']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

const markdown = new MarkdownIt({ html: true });
type Token = MarkdownIt.Token;
const parse = (file: string) => markdown.parse(readFileSync(file, 'utf8'), {});
const inline = (tokens: Token[]) => tokens.flatMap((token) => (token.type === 'inline' ? (token.children ?? []) : []));

/** The text a heading renders to: its inline tokens without the Markdown around them. */
const headingText = (heading: Token) => (heading.children ?? []).map((child) => child.content).join('');

/** Each Markdown file's heading anchors, parsed once however many links point into it. */
const anchorSets = new Map<string, Promise<Set<string>>>();

async function headingAnchors(file: string): Promise<Set<string>> {
  const { default: GithubSlugger } = await import('github-slugger');
  const slugger = new GithubSlugger();
  const tokens = parse(file);
  const anchors = new Set<string>();
  tokens.forEach((token, i) => {
    if (token.type === 'heading_open') anchors.add(slugger.slug(headingText(tokens[i + 1]!)));
  });
  return anchors;
}

function anchorsOf(file: string): Promise<Set<string>> {
  if (!anchorSets.has(file)) anchorSets.set(file, headingAnchors(file));
  return anchorSets.get(file)!;
}

test('relative links in the Markdown lead to files and headings that exist', async () => {
  const files = markdownFiles(ROOT);
  assert.ok(files.length > 10, `found ${files.length} Markdown files`);
  const broken: string[] = [];
  for (const file of files) {
    const links = inline(parse(file))
      .filter((token) => token.type === 'link_open')
      .map((token) => String(token.attrGet('href') ?? ''))
      .filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href));
    for (const href of links) {
      const [target = '', anchor] = href.split('#');
      const resolved = target ? path.resolve(path.dirname(file), decodeURIComponent(target)) : file;
      const where = `${path.relative(ROOT, file)}: ${href}`;
      if (!existsSync(resolved)) broken.push(`${where} (no such file)`);
      else if (anchor && statSync(resolved).isFile() && resolved.endsWith('.md') && !(await anchorsOf(resolved)).has(anchor)) {
        broken.push(`${where} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
