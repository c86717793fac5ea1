import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'

/**
 * Exposes `window.api` to the renderer: the contract's `call`, `on` and `mediaUrl`, and nothing of
 * ipcRenderer itself. Requests are validated in the main process, against the same contract.
 */
const api = {
  call: (channel: string, req: unknown) => ipcRenderer.invoke('smallset:call', channel, req),
  on: (event: string, listener: (payload: unknown) => void) => {
    const wrapped = (_e: IpcRendererEvent, name: string, payload: unknown) => {
      if (name === event) listener(payload)
    }
    ipcRenderer.on('smallset:event', wrapped)
    return () => {
      ipcRenderer.removeListener('smallset:event', wrapped)
    }
  },
  mediaUrl: (kind: 'thumb' | 'image', imageId: number) => `smallset-media://${kind}/${imageId}`,
}

contextBridge.exposeInMainWorld('api', api)

// Electron's hidden trainer window (src-renderer/gpu-trainer/page.ts) is sent the port of its GPU
// worker; a port cannot cross the context bridge, so it is handed on as a window message.
ipcRenderer.on('smallset:gpu-port', (e) => window.postMessage('smallset:gpu-port', '*', e.ports))
