// Where pulled models live. The hub/ part is huggingface_hub's own cache layout, so its tools understand it.
//
//   <cache>/hub/models--owner--repo/blobs/<sha256>              the file's bytes, named by their LFS sha256
//   <cache>/hub/models--owner--repo/blobs/<sha256>.incomplete   a download in progress (resumed with Range)
//   <cache>/hub/models--owner--repo/refs/<revision>             the commit the revision resolved to
//   <cache>/hub/models--owner--repo/snapshots/<commit>/<file>   symlink to ../../blobs/<sha256>
//   <cache>/hub/.locks/models--owner--repo/<sha256>.lock        pid of the process downloading that blob
//   <cache>/url/<url hash>/<file name>                          plain https downloads (+ .incomplete, .lock)
//   <cache>/manifests/<name>.json                               one per pulled model: what `camelid list` shows
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** `--cache-dir`, else `CAMELID_HOME`, else ~/.cache/camelid. */
export function defaultCacheDir(env: NodeJS.ProcessEnv, flag?: string): string {
  if (flag) return resolve(flag);
  if (env.CAMELID_HOME) return resolve(env.CAMELID_HOME);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache"), "camelid");
}

export interface DownloadPaths {
  /** The finished, verified file. */
  blob: string;
  incomplete: string;
  lock: string;
}

export class CacheLayout {
  constructor(readonly root: string) {}

  repoFolder(repo: string): string {
    return join(this.root, "hub", repoFolderName(repo));
  }

  hubBlob(repo: string, blobName: string): DownloadPaths {
    const blob = join(this.repoFolder(repo), "blobs", blobName);
    return { blob, incomplete: `${blob}.incomplete`, lock: join(this.root, "hub", ".locks", repoFolderName(repo), `${blobName}.lock`) };
  }

  snapshotFile(repo: string, commit: string, file: string): string {
    return join(this.repoFolder(repo), "snapshots", commit, ...file.split("/"));
  }

  ref(repo: string, revision: string): string {
    return join(this.repoFolder(repo), "refs", ...revision.split("/"));
  }

  urlDownload(url: string): DownloadPaths {
    const folder = join(this.root, "url", createHash("sha256").update(url).digest("hex").slice(0, 16));
    const name = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "") || "download";
    const blob = join(folder, name.replace(/[\\/:*?"<>|]/g, "_"));
    return { blob, incomplete: `${blob}.incomplete`, lock: `${blob}.lock` };
  }

  get manifestsFolder(): string {
    return join(this.root, "manifests");
  }
}

/** huggingface_hub's repo_folder_name: "models--" + repo id with "/" replaced by "--". */
export function repoFolderName(repo: string): string {
  return `models--${repo.replace(/\//g, "--")}`;
}
