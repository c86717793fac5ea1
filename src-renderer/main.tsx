import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app/App'
import { initApi } from './app/api-client'
import './app/styles.css'

// The web transport needs its media key before anything renders an <img> (mediaUrl is synchronous).
void initApi().then(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
)
