/**
 * A small history router: the screen is a function of the URL, so every screen has a URL of its
 * own (a reader finds a screen from its URL in screens/ in one step) and Back works.
 *   /signin  /signup  /account  /            the library (?type=image|video, ?tag=…)
 *   /media/{id}                               the viewer, over the library
 */
class Route {
  path = $state(location.pathname);
  search = $state(location.search);

  constructor() {
    addEventListener('popstate', () => this.sync());
  }

  navigate(to: string, options: { replace?: boolean } = {}): void {
    if (to === location.pathname + location.search) return;
    if (options.replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
    this.sync();
  }

  param(name: string): string | null {
    return new URLSearchParams(this.search).get(name);
  }

  private sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }
}

export const route = new Route();

/** The id in /media/{id}, if this is the viewer's URL. */
export function viewedId(path: string): string | null {
  return /^\/media\/([0-9A-HJKMNP-TV-Z]{26})$/.exec(path)?.[1] ?? null;
}
