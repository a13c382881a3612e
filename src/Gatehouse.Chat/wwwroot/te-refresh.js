// Keeps the chat's sign-in token (the TE) fresh on the server: each request through Gatehouse brings a current one,
// and the circuit it names takes it (Identity/TeRefresh.cs). The token itself never reaches this page.
setInterval(() => {
    const circuit = document.querySelector('[data-chat-circuit]');
    if (circuit) {
        fetch('.chat/te', { method: 'POST', headers: { 'X-Chat-Circuit': circuit.dataset.chatCircuit } }).catch(() => { });
    }
}, Number(document.currentScript?.dataset.seconds ?? 30) * 1000);
