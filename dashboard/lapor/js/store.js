// The phone's storage: IndexedDB, three object stores.
//   outbox  the reports (key event_id), as js/outbox.js keeps them
//   photos  shrunk photo bytes (key "<event_id>/<index>") until the server has them
//   kv      small values: the credential, the cached home, the clock, the app's settings
//
// iOS (and some Android WebViews) close an IndexedDB connection under the page's feet (memory
// pressure, a backgrounded tab): every operation that fails with the connection gone opens the
// database again and tries once more.

const DB_NAME = "posko-lapor";
const DB_VERSION = 1;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    tx.onerror = () => reject(tx.error || new Error("transaction failed"));
  });
}

/** The phone's store; `idb` is window.indexedDB. */
export function openStore(idb = globalThis.indexedDB, name = DB_NAME) {
  let db = null;
  let opening = null;

  function open() {
    if (db) return Promise.resolve(db);
    if (opening) return opening;
    const req = idb.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const d = req.result;
      if (!d.objectStoreNames.contains("outbox")) d.createObjectStore("outbox", { keyPath: "event_id" });
      if (!d.objectStoreNames.contains("photos")) d.createObjectStore("photos");
      if (!d.objectStoreNames.contains("kv")) d.createObjectStore("kv");
    };
    opening = promised(req).then(
      (d) => {
        opening = null;
        db = d;
        d.onclose = () => {
          if (db === d) db = null; // the browser closed it: the next use opens it again
        };
        d.onversionchange = () => {
          d.close();
          if (db === d) db = null;
        };
        return d;
      },
      (err) => {
        opening = null;
        throw err;
      },
    );
    return opening;
  }

  /** Run `work(tx)` in one transaction; on a lost connection, open again and retry once. */
  async function run(stores, mode, work) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const d = await open();
        const tx = d.transaction(stores, mode);
        const result = work(tx);
        if (result && typeof result.then === "function") result.catch(() => {}); // told below
        await finished(tx);
        return result && typeof result.then === "function" ? await result : result;
      } catch (err) {
        const gone = err && (err.name === "InvalidStateError" || err.name === "UnknownError" || err.name === "TransactionInactiveError");
        if (!gone || attempt >= 1) throw err;
        db = null; // reopen, once
      }
    }
  }

  const readAll = (storeName) =>
    run([storeName], "readonly", (tx) => promised(tx.objectStore(storeName).getAll()));

  return {
    /** Every report kept. */
    loadReports: () => readAll("outbox"),

    /** Keep a new report and its photos in one transaction: both, or neither. */
    addReport: (record, photos = []) =>
      run(["outbox", "photos"], "readwrite", (tx) => {
        tx.objectStore("outbox").add(record);
        photos.forEach((blob, index) => tx.objectStore("photos").put(blob, `${record.event_id}/${index}`));
      }),

    saveReports: (records) =>
      run(["outbox"], "readwrite", (tx) => {
        const s = tx.objectStore("outbox");
        for (const r of records) s.put(r);
      }),

    /** Remove reports and any photos they still hold. */
    deleteReports: (records) =>
      run(["outbox", "photos"], "readwrite", (tx) => {
        for (const r of records) {
          tx.objectStore("outbox").delete(r.event_id);
          for (const p of r.photos || []) tx.objectStore("photos").delete(`${r.event_id}/${p.index}`);
        }
      }),

    loadPhoto: (id, index) =>
      run(["photos"], "readonly", (tx) => promised(tx.objectStore("photos").get(`${id}/${index}`))),

    dropPhoto: (id, index) =>
      run(["photos"], "readwrite", (tx) => {
        tx.objectStore("photos").delete(`${id}/${index}`);
      }),

    get: (key) => run(["kv"], "readonly", (tx) => promised(tx.objectStore("kv").get(key))),

    set: (key, value) =>
      run(["kv"], "readwrite", (tx) => {
        tx.objectStore("kv").put(value, key);
      }),

    remove: (key) =>
      run(["kv"], "readwrite", (tx) => {
        tx.objectStore("kv").delete(key);
      }),
  };
}
