/**
 * The page's HTML: a shell the script fills from the JSON API. Links are relative, so the page
 * works wherever it is mounted. The CSRF token is the only value written into it.
 */
export function renderPage(csrf: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${csrf}">
<title>taskport</title>
<link rel="stylesheet" href="./assets/dashboard.css">
<script type="module" src="./assets/dashboard.js"></script>
</head>
<body>
<header><h1>taskport</h1><span id="updated" aria-live="polite"></span></header>
<main id="backends"><p class="muted">Loading…</p></main>
<section id="detail" hidden>
  <h2 id="detail-title"></h2>
  <nav id="tabs"></nav>
  <div id="detail-body"></div>
</section>
</body>
</html>
`;
}
