package notice

import (
	"fmt"
	"strings"
)

var estonian = writer{
	title: "Külastusstatistika",
	intro: func(f Facts) string {
		s := f.Site + " loendab külastajaid küpsisteta statistikatööriistaga loendur"
		if by := etAgency(f); by != "" {
			s += ", mida haldab meie jaoks " + by
		}
		s += ". See näitab meile, milliseid lehti loetakse ja kust külastajad tulevad; see ei ütle meile, kes te olete, ega jälgi teid teistel veebisaitidel. "
		if f.Settings.ConsentRequired {
			return s + "Teie külastust loendame alles siis, kui olete allolevas kastis nõusoleku andnud; enne seda ei saada teie brauser midagi."
		}
		return s + "Külastusi loendame ilma eelnevalt nõusolekut küsimata; loendamisest saate igal ajal loobuda alloleva kastiga."
	},
	items: func(f Facts) []string {
		return []string{etCollected(f), etNotCollected(f), etAddress(f), etRetention(f), etReaders(f), etSignals(f), etChoice(f), etErase(f)}
	},
	controls: controlsText{
		consent: "Loenda minu külastusi (anonüümne statistika, küpsisteta)",
		forget:  "Kustuta minu külastused",
		blocked: "Statistikaskript on selles brauseris blokeeritud: see ei saatnud midagi.",
		failed:  "See ei õnnestunud; proovige minuti pärast uuesti.",
		done:    "Valmis. Kustutatud sündmusi: ",
	},
}

// etAgency is "meie veebiagentuur Nimi (domeenid)", or "" when nothing is configured.
func etAgency(f Facts) string {
	if f.Agency.Name == "" && len(f.Agency.Domains) == 0 {
		return ""
	}
	a := "meie veebiagentuur"
	if f.Agency.Name != "" {
		a += " " + f.Agency.Name
	}
	if len(f.Agency.Domains) > 0 {
		a += " (" + strings.Join(f.Agency.Domains, ", ") + ")"
	}
	return a
}

func etCollected(f Facts) string {
	s := "Mida salvestatakse: avatud lehe aadress (ilma päringuosata), sait, kust tulite, lingi kampaaniasildid (utm_…), teie brauser, operatsioonisüsteem, seadme tüüp ja ekraani laius"
	if f.Stored.WithLocation > 0 {
		s += ", riik, piirkond ja linn, millele teie IP-aadress osutab"
	}
	s += ", kui kaua leht nähtaval oli ja kui kaugele te kerisite"
	if len(f.Properties) > 0 {
		s += " ning mõne toimingu puhul järgmised andmed: " + propertyKeys(f)
	}
	return s + "."
}

func etNotCollected(f Facts) string {
	return fmt.Sprintf("Mida ei salvestata: küpsiseid, teie brauserisse midagi peale allpool tehtud valiku, nime ega kontaktandmeid, päringuosa ega tunnust, mis teid jälgiks: külastus tuntakse ära ühe päeva jooksul ja ainult sellel saidil koodi järgi, mis arvutatakse teie aadressist ja brauserist juhusliku võtmega, mis kustutatakse %d tunni pärast.", SaltHours)
}

func etAddress(f Facts) string {
	use := "päevakoodi arvutamiseks"
	if f.Stored.WithLocation > 0 {
		use = "asukoha ja päevakoodi arvutamiseks"
	}
	switch {
	case f.IPv4Prefix == 0 && f.IPv6Prefix == 0:
		return "Teie IP-aadressist ei salvestata midagi: seda kasutatakse ainult mälus " + use + " ja siis unustatakse."
	case f.IPv4Prefix == 0:
		return fmt.Sprintf("Teie IP-aadressi kärbitakse enne salvestamist: IPv4-aadressist ei jäeta alles midagi ja IPv6-aadressist ainult esimesed %d bitti 128-st (võrguosa).", f.IPv6Prefix)
	case f.IPv6Prefix == 0:
		return fmt.Sprintf("Teie IP-aadressi kärbitakse enne salvestamist võrguosani: IPv4-aadressist jäetakse alles ainult esimesed %d bitti 32-st (203.0.113.7 muutub kujule %s) ja IPv6-aadressist ei jäeta midagi.", f.IPv4Prefix, truncationExample(f))
	}
	return fmt.Sprintf("Teie IP-aadressi kärbitakse enne salvestamist võrguosani: IPv4-aadressist jäetakse alles ainult esimesed %d bitti 32-st (203.0.113.7 muutub kujule %s) ja IPv6-aadressist esimesed %d bitti 128-st.",
		f.IPv4Prefix, truncationExample(f), f.IPv6Prefix)
}

func etRetention(f Facts) string {
	unit := "kuud"
	if f.RetentionMonths == 1 {
		unit = "kuu"
	}
	return fmt.Sprintf("Andmeid hoitakse %d %s, seejärel kustutatakse need automaatselt.", f.RetentionMonths, unit)
}

func etReaders(f Facts) string {
	s := "Kes andmeid näevad: statistikat haldava veebiagentuuri"
	if f.Agency.Name != "" {
		s += " " + f.Agency.Name
	}
	s += " töötajad"
	switch n := len(f.Managers()); n {
	case 0:
	case 1:
		s += " ja üks meie inimene, kes seda saiti haldab"
	default:
		s += fmt.Sprintf(" ja %d meie inimest, kes seda saiti haldavad", n)
	}
	if shared := sharedWith(f, "e-postiga saadetavad aruanded", "kõik, kellel on link „%s”"); len(shared) > 0 {
		return s + ". Aruandeid jagatakse ka: " + strings.Join(shared, "; ") + "."
	}
	return s + ". Andmeid ei müüda ega anta kellelegi teisele."
}

func etSignals(f Facts) string {
	if f.HonourDNT {
		return "Kui teie brauser saadab Global Privacy Controli või Do Not Tracki signaali, ei loendata midagi."
	}
	return "Kui teie brauser saadab Global Privacy Controli signaali, ei loendata midagi. Do Not Tracki signaali me ei arvesta: kasutage selle asemel allolevat kasti."
}

func etChoice(f Facts) string {
	kept := " Teie valik jäetakse meelde teie brauseris (localStorage, loendur_optout) ja see on ainus, mida see tööriist sinna salvestab."
	if f.Settings.ConsentRequired {
		return "Loendamist lubate, kui märgite alloleva kasti; märke eemaldamisega võtate nõusoleku tagasi kõigil selle saidi lehtedel." + kept
	}
	return "Loendamisest loobumiseks eemaldage alloleva kasti märge; uuesti märkides lubate loendamise taas." + kept
}

func etErase(f Facts) string {
	s := "Oma külastuste kustutamiseks vajutage allpool nuppu „Kustuta minu külastused”: see kustutab kõik, mida saab veel teie brauseri ja aadressiga siduda (tänased ja eilsed külastused UTC järgi); vanemaid andmeid ei saa enam kellegagi siduda, ka teiega mitte."
	if f.BaseURL != "" {
		s += fmt.Sprintf(" Et näha, milline kood on teie brauseril täna ja mitu kirjet selle all on salvestatud, avage %s/api/me?site=%s.", f.BaseURL, f.Site)
	}
	return s
}
