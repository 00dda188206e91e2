// AvelarSys portal: input masks (CPF, CNPJ numeric or alphanumeric, phone), the copy button,
// and the cash-flow chart (Chart.js). No inline scripts: the CSP allows only 'self'.
(function () {
  "use strict";
  function only(value, re) { return (value.match(re) || []).join(""); }
  function maskCpf(v) {
    var d = only(v, /\d/g).slice(0, 11);
    return d.replace(/^(\d{3})(\d)/, "$1.$2").replace(/^(\d{3})\.(\d{3})(\d)/, "$1.$2.$3")
      .replace(/\.(\d{3})(\d{1,2})$/, ".$1-$2");
  }
  function maskCnpj(v) {
    var c = only(v.toUpperCase(), /[0-9A-Z]/g).slice(0, 14), out = "";
    for (var i = 0; i < c.length; i++) {
      if (i === 2 || i === 5) out += ".";
      if (i === 8) out += "/";
      if (i === 12) out += "-";
      out += c[i];
    }
    return out;
  }
  function maskPhone(v) {
    var d = only(v, /\d/g);
    if (d.length > 11 && d.indexOf("55") === 0) d = d.slice(2);
    d = d.slice(0, 11);
    if (d.length <= 2) return d.length ? "(" + d : "";
    var rest = d.slice(2), cut = rest.length > 8 ? 5 : 4;
    return "(" + d.slice(0, 2) + ") " + (rest.length > cut ? rest.slice(0, cut) + "-" + rest.slice(cut) : rest);
  }
  var masks = { cpf: maskCpf, cnpj: maskCnpj, phone: maskPhone };
  document.addEventListener("input", function (ev) {
    var el = ev.target, kind = el && el.getAttribute && el.getAttribute("data-mask");
    if (kind && masks[kind]) { el.value = masks[kind](el.value); }
  });
  document.addEventListener("click", function (ev) {
    var id = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-copy");
    if (!id) return;
    var el = document.getElementById(id);
    if (el && navigator.clipboard) { navigator.clipboard.writeText(el.value); ev.target.textContent = "Copiado!"; }
  });
  function brl(n) {
    return n.toLocaleString("pt-BR", { style: "currency", currency: "BRL" });
  }
  function drawChart() {
    var canvas = document.getElementById("cash-flow-chart");
    var data = document.getElementById("cash-flow-data");
    if (!canvas || !data || !window.Chart) return;
    var d = JSON.parse(data.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: d.labels, datasets: [
        { label: "Receitas", data: d.income, backgroundColor: "#057a55" },
        { label: "Despesas", data: d.expense, backgroundColor: "#c81e1e" }
      ] },
      options: { responsive: true, animation: false,
        scales: { y: { ticks: { callback: function (v) { return brl(v); } } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + brl(c.parsed.y); } } } } }
    });
    canvas.setAttribute("data-ready", "1");
  }
  // Chart.js is a deferred script after this one: draw once everything has loaded.
  if (document.readyState === "complete") drawChart();
  else window.addEventListener("load", drawChart);
})();
